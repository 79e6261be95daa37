//go:build amd64 && !purego

package cpufeat

// cpuid executes CPUID with EAX = leaf and ECX = sub (cpuid_amd64.s).
func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)

// l1dWays reads the L1 data cache's associativity from CPUID: Intel's deterministic cache
// parameters (leaf 4), AMD's and Hygon's L1 cache identifiers (leaf 0x80000005, ECX[23:16]). It
// returns 0 for another vendor or where the leaf is missing, and fullyAssociative where the CPU
// says the cache is fully associative.
func l1dWays() int { return l1dWaysFrom(cpuid) }

// l1dWaysFrom is l1dWays with CPUID given, so that tests can feed it other CPUs' registers.
func l1dWaysFrom(cpuid func(leaf, sub uint32) (eax, ebx, ecx, edx uint32)) int {
	maxLeaf, b, c, d := cpuid(0, 0)
	vendor := string([]byte{
		byte(b), byte(b >> 8), byte(b >> 16), byte(b >> 24),
		byte(d), byte(d >> 8), byte(d >> 16), byte(d >> 24),
		byte(c), byte(c >> 8), byte(c >> 16), byte(c >> 24),
	})
	switch vendor {
	case "GenuineIntel":
		if maxLeaf < 4 {
			return 0
		}
		for i := uint32(0); i < 32; i++ {
			a, b, _, _ := cpuid(4, i)
			kind, level := a&31, a>>5&7
			if kind == 0 {
				break
			}
			if kind == 1 && level == 1 { // a data cache, level 1
				return int(b>>22) + 1
			}
		}
	case "AuthenticAMD", "HygonGenuine":
		if maxExt, _, _, _ := cpuid(0x80000000, 0); maxExt < 0x80000005 {
			return 0
		}
		_, _, c, _ := cpuid(0x80000005, 0)
		switch w := int(c >> 16 & 0xff); w {
		case 0xff:
			return fullyAssociative
		default:
			return w
		}
	}
	return 0
}
