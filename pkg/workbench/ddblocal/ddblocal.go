// Package ddblocal runs AWS's DynamoDB Local (the real Java server, pinned by
// scripts/package.json) for tests and local development, and builds its
// tables from template.yaml so they match what CloudFormation deploys.
//
// DynamoDB Local has no flag to choose the address it listens on: its own
// main binds the port on every interface, where anyone who can reach the
// machine could rewrite items with dummy credentials. Start therefore never
// runs that main. It runs LoopbackServer.java (embedded here, executed by
// Java's source-file mode, so a fresh clone needs nothing compiled), which
// builds the same server and binds it to 127.0.0.1 before it starts.
package ddblocal

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/keyward/keyward/pkg/workbench/localaws"

	"github.com/keyward/keyward/pkg/workbench/childproc"
)

// Region, AccessKeyID and SecretAccessKey are what Client and StreamsClient
// sign with. DynamoDB Local checks neither, and runs with -sharedDb, so
// clients with other credentials or regions (the AWS CLI, a Lambda run
// locally) see the same tables.
const (
	Region          = localaws.Region
	AccessKeyID     = "ddblocal"
	SecretAccessKey = "ddblocal"
)

// defaultReadyTimeout bounds how long Start waits for the first answer.
const defaultReadyTimeout = 30 * time.Second

// launcherSource starts DynamoDB Local bound to 127.0.0.1 (see the file).
//
//go:embed LoopbackServer.java
var launcherSource []byte

// launcherName is the file name Java's source-file mode is given; the class
// it declares first is run.
const launcherName = "LoopbackServer.java"

// corsOrigin is the only Origin DynamoDB Local answers CORS requests for
// (-cors; some versions default to "*"). The .invalid top-level domain never
// resolves, so no web page has this origin and no browser script may read
// DynamoDB Local's answers.
const corsOrigin = "https://no-browser-origin.invalid"

// jvmArgs favour start-up time over peak throughput: tests are short, and
// C1 only with the serial collector starts about a third faster on 2 cores.
var jvmArgs = []string{"-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"}

// Options configure Start.
type Options struct {
	// Dir holds DynamoDBLocal.jar and DynamoDBLocal_lib. Empty means
	// Install(RepoRoot(working directory)).
	Dir string
	// Port is the TCP port to serve on; 0 picks one free on 127.0.0.1.
	Port int
	// DBPath is a directory to persist tables in (-dbPath); empty keeps
	// them in memory (-inMemory), gone when the instance stops.
	DBPath string
	// Stdout receives DynamoDB Local's standard output and error; nil
	// discards them (the last lines still appear in start-up errors).
	Stdout io.Writer
	// Java is the java executable. Empty means $JAVA_HOME/bin/java if it
	// exists, else java from PATH. DynamoDB Local 3.x needs Java 17+, and
	// running LoopbackServer.java needs its jdk.compiler module (every JDK
	// has it, and so does Debian's openjdk-17-jre-headless).
	Java string
	// ReadyTimeout bounds the wait for DynamoDB Local to answer ListTables;
	// 0 means 30 s. ctx can end the wait earlier.
	ReadyTimeout time.Duration
}

// Instance is a running DynamoDB Local process.
type Instance struct {
	// Endpoint is the base URL clients use, http://127.0.0.1:<Port>.
	Endpoint string
	// Port is the TCP port DynamoDB Local serves on.
	Port int

	cmd      *exec.Cmd
	out      *tail
	done     chan struct{} // closed when the process has exited
	waitErr  error         // set before done is closed
	stopOnce sync.Once
	stopErr  error
}

// Start launches DynamoDB Local and returns once it answers requests. ctx
// bounds the start only; the process runs until Stop (or, on Linux, until
// the calling process dies).
func Start(ctx context.Context, opts Options) (*Instance, error) {
	dir := opts.Dir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("ddblocal: %w", err)
		}
		root, err := RepoRoot(wd)
		if err != nil {
			return nil, err
		}
		if dir, err = Install(root); err != nil {
			return nil, err
		}
	}
	java, err := findJava(opts.Java)
	if err != nil {
		return nil, err
	}
	dbPath := ""
	if opts.DBPath != "" {
		if dbPath, err = filepath.Abs(opts.DBPath); err != nil {
			return nil, fmt.Errorf("ddblocal: %w", err)
		}
		if err := os.MkdirAll(dbPath, 0o700); err != nil {
			return nil, fmt.Errorf("ddblocal: %w", err)
		}
	}
	timeout := opts.ReadyTimeout
	if timeout <= 0 {
		timeout = defaultReadyTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// A port found free may be taken before Java binds it: retry a few
	// times with another one, unless the caller chose the port.
	attempts := 1
	if opts.Port == 0 {
		attempts = 3
	}
	for i := 1; ; i++ {
		port := opts.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return nil, err
			}
		}
		inst, err := launch(ctx, java, dir, dbPath, port, opts.Stdout)
		if err == nil {
			return inst, nil
		}
		if i >= attempts || !errors.Is(err, errPortInUse) {
			return nil, err
		}
	}
}

var errPortInUse = errors.New("port in use")

func launch(ctx context.Context, java, dir, dbPath string, port int, stdout io.Writer) (*Instance, error) {
	// Java reads the source once, before main runs; the directory goes as
	// soon as the server answers (or fails to).
	src, err := writeLauncher()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(filepath.Dir(src))

	args := append([]string{}, jvmArgs...)
	args = append(args,
		"-Djava.library.path="+filepath.Join(dir, libDirName),
		"-cp", filepath.Join(dir, JarName), // its manifest adds DynamoDBLocal_lib
		src,
		"-port", strconv.Itoa(port),
		"-disableTelemetry", // no network but 127.0.0.1
		"-cors", corsOrigin,
		"-sharedDb",
	)
	if dbPath == "" {
		args = append(args, "-inMemory")
	} else {
		args = append(args, "-dbPath", dbPath)
	}
	cmd := exec.Command(java, args...)
	cmd.Dir = dir
	out := &tail{max: 16 << 10}
	var w io.Writer = out
	if stdout != nil {
		w = io.MultiWriter(out, stdout)
	}
	cmd.Stdout, cmd.Stderr = w, w
	childproc.Isolate(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("ddblocal: start %s: %w", java, err)
	}
	inst := &Instance{
		Endpoint: "http://127.0.0.1:" + strconv.Itoa(port),
		Port:     port,
		cmd:      cmd,
		out:      out,
		done:     make(chan struct{}),
	}
	go func() {
		inst.waitErr = cmd.Wait()
		close(inst.done)
	}()
	if err := inst.waitReady(ctx); err != nil {
		_ = inst.Stop()
		return nil, err
	}
	return inst, nil
}

// waitReady polls ListTables until DynamoDB Local answers, the process
// exits, or ctx ends.
func (i *Instance) waitReady(ctx context.Context) error {
	client := Client(i.Endpoint, func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
	for {
		attempt, cancel := context.WithTimeout(ctx, time.Second)
		_, err := client.ListTables(attempt, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-i.done:
			out := i.out.String()
			if strings.Contains(out, "Address already in use") {
				return fmt.Errorf("ddblocal: port %d: %w", i.Port, errPortInUse)
			}
			return fmt.Errorf("ddblocal: DynamoDB Local exited before serving (%v):\n%s", i.waitErr, out)
		case <-ctx.Done():
			return fmt.Errorf("ddblocal: DynamoDB Local not ready on %s: %w (last error: %v)\n%s", i.Endpoint, ctx.Err(), err, i.out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// PID returns the Java process's ID.
func (i *Instance) PID() int { return i.cmd.Process.Pid }

// Stop terminates DynamoDB Local (SIGTERM to its process group, SIGKILL
// after 5 s) and waits for it to exit. It returns an error only if the
// process had already died on its own. Calling Stop again returns the same
// result.
func (i *Instance) Stop() error {
	i.stopOnce.Do(func() {
		select {
		case <-i.done:
			i.stopErr = fmt.Errorf("ddblocal: DynamoDB Local on %s had exited (%v):\n%s", i.Endpoint, i.waitErr, i.out.String())
		default:
			_ = childproc.SignalGroup(i.cmd, syscall.SIGTERM)
			select {
			case <-i.done:
			case <-time.After(5 * time.Second):
			}
		}
		// Whatever else is left in the group goes too; ESRCH when empty.
		_ = childproc.SignalGroup(i.cmd, syscall.SIGKILL)
		<-i.done
	})
	return i.stopErr
}

// Client returns a DynamoDB client for endpoint, signing with dummy static
// credentials in Region. optFns adjust its options.
func Client(endpoint string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		BaseEndpoint: aws.String(endpoint),
	}, optFns...)
}

// StreamsClient returns a DynamoDB Streams client for endpoint (DynamoDB
// Local serves streams on the same port), signing like Client.
func StreamsClient(endpoint string, optFns ...func(*dynamodbstreams.Options)) *dynamodbstreams.Client {
	return dynamodbstreams.New(dynamodbstreams.Options{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		BaseEndpoint: aws.String(endpoint),
	}, optFns...)
}

// writeLauncher writes LoopbackServer.java into a new private temporary
// directory and returns its path.
func writeLauncher() (string, error) {
	tmp, err := os.MkdirTemp("", "ddblocal-launcher-")
	if err != nil {
		return "", fmt.Errorf("ddblocal: %w", err)
	}
	path := filepath.Join(tmp, launcherName)
	if err := os.WriteFile(path, launcherSource, 0o600); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("ddblocal: %w", err)
	}
	return path, nil
}

// findJava resolves the java executable as Options.Java documents.
func findJava(java string) (string, error) {
	if java == "" {
		if home := os.Getenv("JAVA_HOME"); home != "" {
			if p := filepath.Join(home, "bin", "java"); isExecutable(p) {
				return p, nil
			}
		}
		java = "java"
	}
	p, err := exec.LookPath(java)
	if err != nil {
		return "", fmt.Errorf("ddblocal: DynamoDB Local needs a Java 17+ runtime with the jdk.compiler module "+
			"(any JDK, or Debian's openjdk-17-jre-headless) and %q was not found (install one, or set JAVA_HOME): %w", java, err)
	}
	return p, nil
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// freePort returns a TCP port that is free on 127.0.0.1 right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("ddblocal: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail keeps the last max bytes written to it, for error messages.
type tail struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if extra := t.buf.Len() - t.max; extra > 0 {
		t.buf.Next(extra)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
