// tests/editions/go_ext_reader.go: Go's reading of the "extensions" case's
// record: protoc-gen-go's code of the proto2 version 1, imported, so its
// extension `e` is registered in protoregistry.GlobalTypes. Reads one
// record from standard input and prints "error" when proto.Unmarshal
// fails, else "has H value V unknown U": whether the extension reads set,
// its value, and the bytes of unknown fields kept.
package main

import (
	"fmt"
	"io"
	"os"

	"google.golang.org/protobuf/proto"

	ed "edext/v1"
)

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		os.Exit(2)
	}
	m := &ed.Rec{}
	if err := proto.Unmarshal(in, m); err != nil {
		fmt.Println("error")
		return
	}
	has := proto.HasExtension(m, ed.E_E)
	v := proto.GetExtension(m, ed.E_E).(uint32)
	fmt.Printf("has %v value %d unknown %d\n", has, v,
		len(m.ProtoReflect().GetUnknown()))
}
