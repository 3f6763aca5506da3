// tests/editions/JavaExtReader.java: Java's reading of the "extensions"
// case's record: protoc's generated Java of the proto2 version 1. Reads one
// record from standard input and prints two lines, "plain ..." for
// Rec.parseFrom(bytes) and "registry ..." for Rec.parseFrom(bytes, an
// ExtensionRegistry holding the file's extensions): "error" when the parse
// fails, else "has H value V unknown U" (whether the extension reads set,
// its value, and the number of unknown fields kept).
import com.google.protobuf.ExtensionRegistry;
import ed.extensions.v1.ExtensionsV1;

public class JavaExtReader {
  static void print(String how, ExtensionsV1.Rec m) {
    System.out.println(how + " has " + m.hasExtension(ExtensionsV1.e)
        + " value " + m.getExtension(ExtensionsV1.e)
        + " unknown " + m.getUnknownFields().asMap().size());
  }

  public static void main(String[] args) throws Exception {
    byte[] in = System.in.readAllBytes();
    ExtensionRegistry reg = ExtensionRegistry.newInstance();
    ExtensionsV1.registerAllExtensions(reg);
    try {
      print("plain", ExtensionsV1.Rec.parseFrom(in));
    } catch (Exception e) {
      System.out.println("plain error");
    }
    try {
      print("registry", ExtensionsV1.Rec.parseFrom(in, reg));
    } catch (Exception e) {
      System.out.println("registry error");
    }
  }
}
