// Command sakk is a self-hosted payment checkout platform: `sakk serve`
// runs it, the other commands administer its store. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		// One line, whatever the cause's own formatting (a database
		// driver's error may span several).
		fmt.Fprintln(os.Stderr, "sakk:", strings.Join(strings.Fields(err.Error()), " "))
		os.Exit(exitCode(err))
	}
}
