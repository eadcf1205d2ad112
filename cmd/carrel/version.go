package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

func printVersion(_ context.Context, _ *config, _ []string, out io.Writer) error {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok && v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	fmt.Fprintf(out, "carrel %s\n", v)
	return nil
}
