// tests/differential/runtimes/Reader.java: the Java reader of the runtime
// table (docs/runtimes.md). It runs protoc's generated Java code of the
// table's version-1 schemas (class dc.<CASE>.v1.RecOuterClass.Rec) with
// protobuf-java, nothing of rollsafe.
//
// Standard input: one request a line, "CASE HEX"; standard output: one JSON
// document a line in the form of print.h, what Rec.parseFrom(byte[]) gives,
// walked through its descriptor; extensions it parsed (only with
// --extension-registry: an ExtensionRegistry holding the case file's
// extensions, RecOuterClass.registerAllExtensions) follow as fields of their
// numbers when set. "#u" is the number of field numbers in the message's
// unknown field set. A failed parse prints {"error": "..."}.
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.ExtensionRegistry;
import com.google.protobuf.ExtensionRegistryLite;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Parser;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

public final class Reader {
  private static String hex(byte[] b) {
    StringBuilder s = new StringBuilder("\"");
    for (byte x : b) s.append(String.format("%02x", x & 0xff));
    return s.append('"').toString();
  }

  private static String escape(String t) {
    StringBuilder s = new StringBuilder();
    for (char c : t.toCharArray()) {
      if (c == '"' || c == '\\') s.append('\\').append(c);
      else if (c < 0x20 || c >= 0x7f) s.append(String.format("\\u%04x", (int) c));
      else s.append(c);
    }
    return s.toString();
  }

  private static String value(FieldDescriptor f, Object v) {
    switch (f.getJavaType()) {
      case INT:
        // Java has no unsigned types: a uint32 or fixed32 holds its bits in
        // an int, which the reader's code reads unsigned
        // (Integer.toUnsignedLong), as the protobuf Java guide says.
        if (f.getType() == FieldDescriptor.Type.UINT32
            || f.getType() == FieldDescriptor.Type.FIXED32)
          return Integer.toUnsignedString((Integer) v);
        return v.toString();
      case LONG:
        if (f.getType() == FieldDescriptor.Type.UINT64
            || f.getType() == FieldDescriptor.Type.FIXED64)
          return Long.toUnsignedString((Long) v);
        return v.toString();
      case BOOLEAN:
        return ((Boolean) v) ? "true" : "false";
      case FLOAT:
      case DOUBLE:
        return "{\"d\": \"" + Double.toHexString(((Number) v).doubleValue()) + "\"}";
      case ENUM: {
        EnumValueDescriptor e = (EnumValueDescriptor) v;
        // An unknown value of an open enum reads as a value descriptor the
        // enum does not declare.
        boolean known = f.getEnumType().findValueByNumber(e.getNumber()) != null;
        return "{\"e\": " + e.getNumber() + ", \"k\": " + (known ? 1 : 0) + "}";
      }
      case STRING:
        return "{\"s\": " + hex(((String) v).getBytes(StandardCharsets.UTF_8)) + "}";
      case BYTE_STRING:
        return "{\"b\": " + hex(((ByteString) v).toByteArray()) + "}";
      case MESSAGE: {
        Message m = (Message) v;
        return "{\"m\": " + message(m) + ", \"p\": " + hex(m.toByteArray()) + "}";
      }
    }
    return "null";
  }

  private static String message(Message m) {
    List<FieldDescriptor> fields = new ArrayList<>(m.getDescriptorForType().getFields());
    for (FieldDescriptor f : m.getAllFields().keySet())
      if (f.isExtension()) fields.add(f);
    fields.sort(Comparator.comparingInt(FieldDescriptor::getNumber));
    StringBuilder s = new StringBuilder("{");
    for (FieldDescriptor f : fields) {
      s.append('"').append(f.getNumber()).append("\": ");
      if (f.isRepeated()) {
        s.append('[');
        for (int k = 0; k < m.getRepeatedFieldCount(f); k++) {
          if (k > 0) s.append(", ");
          s.append(value(f, m.getRepeatedField(f, k)));
        }
        s.append(']');
      } else if (!f.hasPresence() || m.hasField(f)) {
        s.append(value(f, m.getField(f)));
      } else {
        s.append("null");
      }
      s.append(", ");
    }
    return s.append("\"#u\": ").append(m.getUnknownFields().asMap().size()).append('}').toString();
  }

  // Options, as a reader's code gives them: --allow-partial (parsePartialFrom),
  // --recursion-limit N (CodedInputStream.setRecursionLimit),
  // --extension-registry (the parse given an ExtensionRegistry holding the
  // case file's extensions: parseFrom(byte[], ExtensionRegistryLite)); none:
  // parseFrom(byte[]).
  public static void main(String[] args) throws Exception {
    boolean partial = false, registry = false;
    int limit = 0;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--allow-partial")) partial = true;
      else if (args[i].equals("--extension-registry")) registry = true;
      else if (args[i].equals("--recursion-limit") && i + 1 < args.length)
        limit = Integer.parseInt(args[++i]);
      else throw new IllegalArgumentException("unknown option " + args[i]);
    }
    boolean options = partial || limit != 0;
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
    PrintStream out = new PrintStream(System.out, false, "UTF-8");
    String line;
    while ((line = in.readLine()) != null) {
      int space = line.indexOf(' ');
      String name = space < 0 ? line : line.substring(0, space);
      String hexed = space < 0 ? "" : line.substring(space + 1);
      byte[] bytes = new byte[hexed.length() / 2];
      for (int i = 0; i < bytes.length; i++)
        bytes[i] = (byte) Integer.parseInt(hexed.substring(2 * i, 2 * i + 2), 16);
      Method parse;
      Object parser;
      ExtensionRegistryLite extensions = ExtensionRegistryLite.getEmptyRegistry();
      try {
        Class<?> rec = Class.forName("dc." + name + ".v1.RecOuterClass$Rec");
        parse = registry
            ? rec.getMethod("parseFrom", byte[].class, ExtensionRegistryLite.class)
            : rec.getMethod("parseFrom", byte[].class);
        parser = rec.getMethod("parser").invoke(null);
        if (registry) {
          ExtensionRegistry reg = ExtensionRegistry.newInstance();
          Class.forName("dc." + name + ".v1.RecOuterClass")
              .getMethod("registerAllExtensions", ExtensionRegistry.class)
              .invoke(null, reg);
          extensions = reg;
        }
      } catch (ClassNotFoundException e) {
        out.println("{\"error\": \"unknown case\"}");
        out.flush();
        continue;
      }
      try {
        if (options) {
          CodedInputStream cis = CodedInputStream.newInstance(bytes);
          if (limit != 0) cis.setRecursionLimit(limit);
          @SuppressWarnings("unchecked")
          Parser<Message> p = (Parser<Message>) parser;
          Message m = partial ? p.parsePartialFrom(cis, extensions)
                              : p.parseFrom(cis, extensions);
          cis.checkLastTagWas(0);
          out.println(message(m));
        } else {
          out.println(message((Message) (registry ? parse.invoke(null, bytes, extensions)
                                                   : parse.invoke(null, (Object) bytes))));
        }
      } catch (InvocationTargetException e) {
        Throwable t = e.getCause();
        out.println("{\"error\": \"" + escape(t.getClass().getSimpleName() + ": " + t.getMessage()) + "\"}");
      } catch (InvalidProtocolBufferException e) {
        out.println("{\"error\": \"" + escape(e.getClass().getSimpleName() + ": " + e.getMessage()) + "\"}");
      }
      out.flush();
    }
  }
}
