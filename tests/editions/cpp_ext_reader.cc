// tests/editions/cpp_ext_reader.cc: C++'s reading of the "extensions"
// case's record: protoc's generated C++ of the proto2 version 1, linked in,
// so its extension `e` is registered. Reads one record from standard input
// and prints "error" when ParseFromString fails, else "has H value V
// unknown U": whether the extension reads set, its value, and the number of
// unknown fields kept.
#include <iostream>
#include <iterator>
#include <string>

#include RS_ED_HEADER

int main() {
  std::string in((std::istreambuf_iterator<char>(std::cin)),
                 std::istreambuf_iterator<char>());
  RS_ED_NS::Rec m;
  if (!m.ParseFromString(in)) {
    std::cout << "error\n";
    return 0;
  }
  std::cout << "has " << m.HasExtension(RS_ED_NS::e) << " value "
            << m.GetExtension(RS_ED_NS::e) << " unknown "
            << m.GetReflection()->GetUnknownFields(m).field_count() << "\n";
  return 0;
}
