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

// TestL1DataWaysDecodesOtherCPUs feeds l1dWaysFrom the CPUID registers of CPUs this machine is
// not: Intel's leaf 4 (an instruction cache listed first, then the 12-way L1d of the Xeon model
// 167), AMD's leaf 0x80000005 (Zen 4's 8 ways, a fully associative cache), a CPU without the
// leaves, and another vendor.
func TestL1DataWaysDecodesOtherCPUs(t *testing.T) {
	vendor := func(s string) (ebx, ecx, edx uint32) {
		w := func(i int) uint32 {
			return uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24
		}
		return w(0), w(8), w(4)
	}
	type regs [4]uint32
	fake := func(name string, maxLeaf uint32, leaves map[[2]uint32]regs) func(uint32, uint32) (uint32, uint32, uint32, uint32) {
		return func(leaf, sub uint32) (uint32, uint32, uint32, uint32) {
			if leaf == 0 {
				b, c, d := vendor(name)
				return maxLeaf, b, c, d
			}
			r := leaves[[2]uint32{leaf, sub}] // zero: no such leaf, or the end of leaf 4's list
			return r[0], r[1], r[2], r[3]
		}
	}
	// Leaf 4: EAX[4:0] type (1 data, 2 instruction), EAX[7:5] level; EBX[31:22] ways-1,
	// EBX[11:0] line size-1; ECX sets-1.
	intel := map[[2]uint32]regs{
		{4, 0}: {2 | 1<<5, 7<<22 | 63, 63},  // L1i, 8 ways
		{4, 1}: {1 | 1<<5, 11<<22 | 63, 63}, // L1d, 12 ways, 48 KiB
		{4, 2}: {3 | 2<<5, 15<<22 | 63, 2047},
	}
	require.Equal(t, 12, l1dWaysFrom(fake("GenuineIntel", 0x20, intel)))
	require.Equal(t, 0, l1dWaysFrom(fake("GenuineIntel", 3, intel)), "no leaf 4")
	require.Equal(t, 0, l1dWaysFrom(fake("GenuineIntel", 0x20, map[[2]uint32]regs{{4, 0}: {3 | 2<<5, 15<<22 | 63, 2047}})), "no L1d listed")
	// Leaf 0x80000005 ECX: [31:24] size in KiB, [23:16] ways (0xff: fully associative).
	amd := func(ecx uint32, maxExt uint32) map[[2]uint32]regs {
		return map[[2]uint32]regs{{0x80000000, 0}: {maxExt, 0, 0, 0}, {0x80000005, 0}: {0, 0, ecx, 0}}
	}
	require.Equal(t, 8, l1dWaysFrom(fake("AuthenticAMD", 0x10, amd(32<<24|8<<16|1<<8|64, 0x80000021))))
	require.Equal(t, 12, l1dWaysFrom(fake("HygonGenuine", 0x10, amd(48<<24|12<<16|64, 0x80000021))))
	require.Equal(t, fullyAssociative, l1dWaysFrom(fake("AuthenticAMD", 0x10, amd(32<<24|0xff<<16|64, 0x80000021))))
	require.Equal(t, 0, l1dWaysFrom(fake("AuthenticAMD", 0x10, amd(32<<24|8<<16|64, 0x80000004))), "no leaf 0x80000005")
	require.Equal(t, 0, l1dWaysFrom(fake("CentaurHauls", 0x10, amd(32<<24|8<<16|64, 0x80000021))), "another vendor")
}
