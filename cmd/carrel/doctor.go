package main

import (
	"context"
	"errors"
	"io"
)

// CONTRACT (issue 23): the doctor helper replaces this with the real command.

func doctorCmd(context.Context, *config, []string, io.Writer) error {
	return errors.New("doctor: not built yet")
}
