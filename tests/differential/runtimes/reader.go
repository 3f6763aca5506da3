// tests/differential/runtimes/reader.go: the Go reader of the runtime table
// (docs/runtimes.md). It links protoc-gen-go's generated code of the
// table's version-1 schemas (cases.go, written by build.py) and
// google.golang.org/protobuf, nothing of rollsafe.
//
// Standard input: one request a line, "CASE HEX"; standard output: one JSON
// document a line in the form of print.h, what proto.Unmarshal() with the
// default options gives, walked through protoreflect; extensions it parsed
// (the generated packages imported register their files' extensions in
// protoregistry.GlobalTypes, which Unmarshal resolves) follow as fields of
// their numbers when set. "#u" is 1 when the message keeps unknown bytes,
// else 0. A failed parse prints
// {"error": "..."}.
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

func hexq(b []byte) string { return "\"" + hex.EncodeToString(b) + "\"" }

func value(f protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch f.Kind() {
	case protoreflect.BoolKind:
		if v.Bool() {
			return "true"
		}
		return "false"
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return strconv.FormatInt(v.Int(), 10)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.FormatUint(v.Uint(), 10)
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return "{\"d\": \"" + strconv.FormatFloat(v.Float(), 'x', -1, 64) + "\"}"
	case protoreflect.EnumKind:
		known := 0
		if f.Enum().Values().ByNumber(v.Enum()) != nil {
			known = 1
		}
		return fmt.Sprintf("{\"e\": %d, \"k\": %d}", v.Enum(), known)
	case protoreflect.StringKind:
		return "{\"s\": " + hexq([]byte(v.String())) + "}"
	case protoreflect.BytesKind:
		return "{\"b\": " + hexq(v.Bytes()) + "}"
	case protoreflect.MessageKind, protoreflect.GroupKind:
		m := v.Message()
		p, _ := proto.MarshalOptions{AllowPartial: true}.Marshal(m.Interface())
		return "{\"m\": " + message(m) + ", \"p\": " + hexq(p) + "}"
	}
	return "null"
}

func message(m protoreflect.Message) string {
	fds := m.Descriptor().Fields()
	var list []protoreflect.FieldDescriptor
	for i := 0; i < fds.Len(); i++ {
		list = append(list, fds.Get(i))
	}
	m.Range(func(f protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		if f.IsExtension() {
			list = append(list, f)
		}
		return true
	})
	sort.Slice(list, func(i, j int) bool { return list[i].Number() < list[j].Number() })
	var b strings.Builder
	b.WriteString("{")
	for _, f := range list {
		fmt.Fprintf(&b, "\"%d\": ", f.Number())
		switch {
		case f.IsMap():
			// A map as its entries, keys in order, as the entry messages
			// the other readers print.
			mp := m.Get(f).Map()
			var keys []protoreflect.MapKey
			mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
				keys = append(keys, k)
				return true
			})
			sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
			b.WriteString("[")
			for i, k := range keys {
				if i > 0 {
					b.WriteString(", ")
				}
				e := fmt.Sprintf("{\"1\": %s, \"2\": %s, \"#u\": 0}",
					value(f.MapKey(), k.Value()), value(f.MapValue(), mp.Get(k)))
				b.WriteString("{\"m\": " + e + "}")
			}
			b.WriteString("]")
		case f.IsList():
			l := m.Get(f).List()
			b.WriteString("[")
			for i := 0; i < l.Len(); i++ {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(value(f, l.Get(i)))
			}
			b.WriteString("]")
		case !f.HasPresence() || m.Has(f):
			b.WriteString(value(f, m.Get(f)))
		default:
			b.WriteString("null")
		}
		b.WriteString(", ")
	}
	u := 0
	if len(m.GetUnknown()) > 0 {
		u = 1
	}
	fmt.Fprintf(&b, "\"#u\": %d}", u)
	return b.String()
}

// Options, as a reader's code gives them: -allow_partial, -discard_unknown,
// -recursion_limit N; none: proto.Unmarshal.
func unmarshalOptions() (proto.UnmarshalOptions, bool) {
	var o proto.UnmarshalOptions
	given := false
	for i := 1; i < len(os.Args); i++ {
		switch os.Args[i] {
		case "-allow_partial":
			o.AllowPartial = true
		case "-discard_unknown":
			o.DiscardUnknown = true
		case "-recursion_limit":
			i++
			n, err := strconv.Atoi(os.Args[i])
			if err != nil {
				fmt.Fprintf(os.Stderr, "dc_rt_go: bad -recursion_limit\n")
				os.Exit(2)
			}
			o.RecursionLimit = n
		default:
			fmt.Fprintf(os.Stderr, "dc_rt_go: unknown option %s\n", os.Args[i])
			os.Exit(2)
		}
		given = true
	}
	return o, given
}

func main() {
	opts, given := unmarshalOptions()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		name, hexed, _ := strings.Cut(in.Text(), " ")
		data, err := hex.DecodeString(hexed)
		if err != nil {
			fmt.Fprintf(os.Stderr, "dc_rt_go: bad hex for %s\n", name)
			os.Exit(2)
		}
		newRec := cases[name]
		if newRec == nil {
			fmt.Fprintln(out, "{\"error\": \"unknown case\"}")
		} else {
			m := newRec().ProtoReflect()
			var err error
			if given {
				err = opts.Unmarshal(data, m.Interface())
			} else {
				err = proto.Unmarshal(data, m.Interface())
			}
			if err != nil {
				text, _ := json.Marshal(err.Error())
				fmt.Fprintf(out, "{\"error\": %s}\n", text)
			} else {
				fmt.Fprintln(out, message(m))
			}
		}
		out.Flush()
	}
}
