"""A Kafka protocol proxy that adds topic configurations to librdkafka's mock
cluster, for the tests of `fix --in-place-compacted`.

The mock cluster (rdkafka_mock.h) keeps no topic configurations and does not
implement DescribeConfigs, which rollsafe asks before writing a topic in
place (is its cleanup.policy compact?). This proxy stands in front of every
broker of the mock: it passes every request and response through unchanged,
except that

  - ApiVersions responses also list DescribeConfigs (versions 0 to 1) and
    cap Metadata at version 4 (non-flexible, so that the next point can
    read it);
  - Metadata responses name the proxy's ports instead of the brokers', so
    that clients stay on the proxy after bootstrapping, and one of the
    brokers as the controller (the mock names broker 0, which it lacks);
  - DescribeConfigs requests are answered by the proxy itself, from the
    configurations it was given: {topic: {name: value}}; a topic it was not
    given is UNKNOWN_TOPIC_OR_PARTITION.

Everything else (metadata, produce, fetch, offsets) is the mock's own.
"""

import socket
import struct
import threading

API_METADATA = 3
API_APIVERSIONS = 18
API_DESCRIBECONFIGS = 32
RESOURCE_TOPIC = 2


def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def _read_frame(sock):
    size = struct.unpack(">i", _recv_exact(sock, 4))[0]
    return _recv_exact(sock, size)


def _uvarint(data, pos):
    shift = value = 0
    while True:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def _put_uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _skip_tagged(data, pos):
    count, pos = _uvarint(data, pos)
    for _ in range(count):
        _, pos = _uvarint(data, pos)
        size, pos = _uvarint(data, pos)
        pos += size
    return pos


def _string(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode()
    return struct.pack(">h", len(b)) + b


class ConfigProxy:
    def __init__(self, bootstrap, configs):
        self.configs = configs
        self.described = []
        self.closed = False
        self.port_map = {}
        self.listeners = []
        for spec in bootstrap.split(","):
            host, port = spec.rsplit(":", 1)
            srv = socket.socket()
            srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            srv.bind(("127.0.0.1", 0))
            srv.listen(64)
            self.port_map[int(port)] = srv.getsockname()[1]
            self.listeners.append(srv)
            threading.Thread(target=self._accept, args=(srv, host, int(port)),
                             daemon=True).start()
        self.bootstrap = ",".join("127.0.0.1:%d" % p
                                  for p in self.port_map.values())

    def close(self):
        self.closed = True
        for srv in self.listeners:
            srv.close()

    def _accept(self, srv, host, port):
        while not self.closed:
            try:
                client, _ = srv.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection((host, port))
            except OSError:
                client.close()
                continue
            state = {"pending": {}, "lock": threading.Lock()}
            threading.Thread(target=self._requests,
                             args=(client, upstream, state),
                             daemon=True).start()
            threading.Thread(target=self._responses,
                             args=(client, upstream, state),
                             daemon=True).start()

    def _send(self, client, state, body):
        with state["lock"]:
            client.sendall(struct.pack(">i", len(body)) + body)

    def _requests(self, client, upstream, state):
        try:
            while True:
                data = _read_frame(client)
                key, ver, corr = struct.unpack(">hhi", data[:8])
                if key == API_DESCRIBECONFIGS:
                    self._send(client, state, self._describe(data, ver, corr))
                    continue
                state["pending"][corr] = (key, ver)
                upstream.sendall(struct.pack(">i", len(data)) + data)
        except (EOFError, OSError):
            pass
        finally:
            for s in (client, upstream):
                try:
                    s.close()
                except OSError:
                    pass

    def _responses(self, client, upstream, state):
        try:
            while True:
                data = _read_frame(upstream)
                corr = struct.unpack(">i", data[:4])[0]
                key, ver = state["pending"].pop(corr, (None, None))
                if key == API_APIVERSIONS:
                    data = self._api_versions(data, ver)
                elif key == API_METADATA:
                    data = self._metadata(data, ver)
                self._send(client, state, data)
        except (EOFError, OSError):
            pass

    def _api_versions(self, data, ver):
        pos = 4
        err = struct.unpack(">h", data[pos:pos + 2])[0]
        pos += 2
        if err != 0:
            return data
        entries = []
        if ver >= 3:
            n, pos = _uvarint(data, pos)
            n -= 1
        else:
            n = struct.unpack(">i", data[pos:pos + 4])[0]
            pos += 4
        for _ in range(n):
            k, lo, hi = struct.unpack(">hhh", data[pos:pos + 6])
            pos += 6
            if ver >= 3:
                pos = _skip_tagged(data, pos)
            if k == API_METADATA:
                hi = min(hi, 4)
            if k != API_DESCRIBECONFIGS:
                entries.append((k, lo, hi))
        entries.append((API_DESCRIBECONFIGS, 0, 1))
        out = bytearray(data[:4]) + struct.pack(">h", err)
        if ver >= 3:
            out += _put_uvarint(len(entries) + 1)
            for e in entries:
                out += struct.pack(">hhh", *e) + b"\x00"
        else:
            out += struct.pack(">i", len(entries))
            for e in entries:
                out += struct.pack(">hhh", *e)
        return bytes(out + data[pos:])

    def _metadata(self, data, ver):
        if ver > 8:  # flexible: not rewritten (capped at 4 above)
            return data
        out = bytearray(data)
        pos = 4 + (4 if ver >= 3 else 0)
        n = struct.unpack(">i", out[pos:pos + 4])[0]
        pos += 4
        nodes = []
        for _ in range(n):
            nodes.append(struct.unpack(">i", out[pos:pos + 4])[0])
            pos += 4
            hl = struct.unpack(">h", out[pos:pos + 2])[0]
            pos += 2 + max(hl, 0)
            port = struct.unpack(">i", out[pos:pos + 4])[0]
            out[pos:pos + 4] = struct.pack(">i", self.port_map.get(port, port))
            pos += 4
            if ver >= 1:
                rl = struct.unpack(">h", out[pos:pos + 2])[0]
                pos += 2 + max(rl, 0)
        if ver >= 2:  # cluster id
            cl = struct.unpack(">h", out[pos:pos + 2])[0]
            pos += 2 + max(cl, 0)
        if ver >= 1 and nodes:
            # The mock names controller 0, which is none of its brokers
            # (they count from 1): admin requests would wait for it.
            ctl = struct.unpack(">i", out[pos:pos + 4])[0]
            if ctl not in nodes:
                out[pos:pos + 4] = struct.pack(">i", min(nodes))
        return bytes(out)

    def _describe(self, data, ver, corr):
        pos = 8
        cl = struct.unpack(">h", data[pos:pos + 2])[0]
        pos += 2 + max(cl, 0)
        n = struct.unpack(">i", data[pos:pos + 4])[0]
        pos += 4
        out = bytearray(struct.pack(">ii", corr, 0)) + struct.pack(">i", n)
        for _ in range(n):
            rtype = data[pos]
            pos += 1
            nl = struct.unpack(">h", data[pos:pos + 2])[0]
            name = data[pos + 2:pos + 2 + nl].decode()
            pos += 2 + nl
            kc = struct.unpack(">i", data[pos:pos + 4])[0]
            pos += 4
            for _ in range(max(kc, 0)):
                kl = struct.unpack(">h", data[pos:pos + 2])[0]
                pos += 2 + kl
            self.described.append(name)
            cfg = self.configs.get(name) if rtype == RESOURCE_TOPIC else None
            if cfg is None:
                out += struct.pack(">h", 3) + _string("unknown topic")
                out += struct.pack(">b", rtype) + _string(name)
                out += struct.pack(">i", 0)
                continue
            out += struct.pack(">h", 0) + _string(None)
            out += struct.pack(">b", rtype) + _string(name)
            out += struct.pack(">i", len(cfg))
            for k, v in cfg.items():
                out += _string(k) + _string(v) + b"\x00"
                # v0: is_default; v1: config_source (1: a topic's own)
                out += b"\x00" if ver == 0 else b"\x01"
                out += b"\x00"  # is_sensitive
                if ver >= 1:
                    out += struct.pack(">i", 0)  # synonyms
        return bytes(out)
