// Command keyward is the keyward command line: log in to a keyward API, then
// create, list, edit, rotate and revoke keys, read the audit trail and verify
// tokens. Install it with
//
//	go install github.com/keyward/keyward/pkg/cmd/keyward@latest
//
// and run `keyward --help`; `keyward completion bash|zsh|fish|powershell`
// prints shell completion.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/keyward/keyward/pkg/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Run(ctx, os.Args[1:], cli.SystemIO())
	stop()
	os.Exit(code)
}
