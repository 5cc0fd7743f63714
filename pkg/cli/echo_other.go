//go:build !linux && !darwin

package cli

// terminalEcho is nil here: this platform's terminal echo is not driven, so
// login warns and reads the token as typed.
func terminalEcho(int) echoSwitch { return nil }
