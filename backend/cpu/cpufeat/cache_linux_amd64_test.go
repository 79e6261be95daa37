//go:build amd64 && !purego

package cpufeat

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestL1DataWaysMatchesLinux compares the associativity read from CPUID with the one Linux
// reports for cpu0's level-1 data cache (which the kernel also reads from CPUID, through its own
// per-vendor code).
func TestL1DataWaysMatchesLinux(t *testing.T) {
	dirs, _ := filepath.Glob("/sys/devices/system/cpu/cpu0/cache/index*")
	read := func(dir, name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	for _, dir := range dirs {
		if read(dir, "level") != "1" || read(dir, "type") != "Data" {
			continue
		}
		ways, err := strconv.Atoi(read(dir, "ways_of_associativity"))
		require.NoError(t, err, "%s/ways_of_associativity", dir)
		if ways == 0 { // Linux's way of saying fully associative
			ways = fullyAssociative
		}
		require.Equal(t, ways, L1DataWays(), "CPUID against %s", dir)
		return
	}
	t.Skip("no level-1 data cache under /sys/devices/system/cpu/cpu0/cache (not Linux, or a kernel that does not say)")
}
