package localstack

import (
	"context"
	"debug/elf"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// elfHeader is a minimal 64-bit little-endian ELF executable header for
// machine m (no sections), enough for debug/elf.
func elfHeader(m elf.Machine) []byte {
	b := make([]byte, 64)
	copy(b, elf.ELFMAG)
	b[elf.EI_CLASS], b[elf.EI_DATA], b[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	binary.LittleEndian.PutUint16(b[16:], uint16(elf.ET_EXEC))
	binary.LittleEndian.PutUint16(b[18:], uint16(m))
	binary.LittleEndian.PutUint32(b[20:], uint32(elf.EV_CURRENT))
	binary.LittleEndian.PutUint16(b[52:], 64) // e_ehsize
	return b
}

func TestMakeBuildRunsTheTargetAsSAMBuildDoes(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the architecture check reads ELF binaries")
	}
	dir := t.TempDir()
	other := elf.EM_AARCH64
	if runtime.GOARCH == "arm64" {
		other = elf.EM_X86_64
	}
	if err := os.WriteFile(filepath.Join(dir, "wrongarch.bin"), elfHeader(other), 0o755); err != nil {
		t.Fatal(err)
	}
	makefile := "build-Script:\n" +
		"\tprintf '#!/bin/sh\\necho $(LAMBDA_GOARCH)\\n' > $(ARTIFACTS_DIR)/bootstrap && chmod +x $(ARTIFACTS_DIR)/bootstrap\n" +
		"build-WrongArch:\n\tcp wrongarch.bin $(ARTIFACTS_DIR)/bootstrap\n" +
		"build-Nothing:\n\ttrue\n" +
		"build-Fails:\n\texit 3\n"
	if err := os.WriteFile(filepath.Join(dir, "Makefile"), []byte(makefile), 0o644); err != nil {
		t.Fatal(err)
	}
	bins := t.TempDir()
	bin, err := makeBuild(context.Background(), dir, "Script", filepath.Join(bins, "Script"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(bin); !strings.Contains(string(b), "echo "+runtime.GOARCH) {
		t.Errorf("bootstrap %q: want LAMBDA_GOARCH=%s passed to the target", b, runtime.GOARCH)
	}
	for id, want := range map[string]string{
		"WrongArch": "LAMBDA_GOARCH",
		"Nothing":   "no executable ARTIFACTS_DIR/bootstrap",
		"Fails":     "make build-Fails",
	} {
		_, err := makeBuild(context.Background(), dir, id, filepath.Join(bins, id), io.Discard)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "function "+id) {
			t.Errorf("%s: err = %v, want one naming the function and %q", id, err, want)
		}
	}
}
