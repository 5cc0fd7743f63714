package ddblocal_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/workbench/ddblocal"
)

// processGone reports whether pid no longer runs: it does not exist, or it
// is a zombie waiting for a reaper that is not us (a container's init may
// never reap it).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return os.IsNotExist(err)
	}
	// "pid (comm) state ...": comm may hold spaces, so look after the last ')'.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 {
		return s[i+2] == 'Z'
	}
	return false
}

// helperEnv makes the test binary act as a process that starts DynamoDB
// Local, prints Java's PID and waits to be killed.
const helperEnv = "DDBLOCAL_TEST_HELPER_JAR_DIR"

func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		return // only meaningful as the child of TestJavaDiesWithItsParent
	}
	inst, err := ddblocal.Start(context.Background(), ddblocal.Options{Dir: dir})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	fmt.Println("PID", inst.PID())
	select {}
}

func TestJavaDiesWithItsParent(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+jarDir(t))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("helper: %v (%q)", err, line)
	}
	pidText, ok := strings.CutPrefix(strings.TrimSpace(line), "PID ")
	if !ok {
		t.Fatalf("helper said %q", line)
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil {
		t.Fatal(err)
	}
	if processGone(pid) {
		t.Fatalf("java (pid %d) is not running while its parent is", pid)
	}

	// SIGKILL leaves the helper no chance to clean up, like a test binary
	// killed by its timeout.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	for deadline := time.Now().Add(10 * time.Second); !processGone(pid); {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("java (pid %d) outlived its killed parent by 10 s", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
