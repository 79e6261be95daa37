package cpufeat

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChooseHonoursOnlyLowerLevels(t *testing.T) {
	cases := []struct {
		name    string
		det     Level
		env     string
		want    Level
		noteHas string
	}{
		{"no variable keeps the detected level", AVX512, "", AVX512, ""},
		{"a lower level is used", AVX512, "avx2", AVX2, ""},
		{"generic is always possible", AVX2, "generic", Generic, ""},
		{"case and spaces do not matter", AVX512, " AVX2 ", AVX2, ""},
		{"the detected level itself is fine", AVX2, "avx2", AVX2, ""},
		{"a higher level is clamped, with a note", AVX2, "avx512", AVX2, "asks for more than this CPU has; using avx2"},
		{"a higher level on a generic CPU", Generic, "avx2", Generic, "using generic"},
		{"an unknown name keeps the detected level, with a note", AVX512, "sse9", AVX512, `"sse9" names no level`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, note := choose(c.det, c.env)
			assert.Equal(t, c.want, got)
			if c.noteHas == "" {
				assert.Empty(t, note)
			} else {
				assert.Contains(t, note, c.noteHas)
				assert.Contains(t, note, EnvVar)
			}
		})
	}
}

func TestParseLevelRoundTrips(t *testing.T) {
	for _, l := range []Level{Generic, AVX2, AVX512} {
		got, err := ParseLevel(l.String())
		require.NoError(t, err)
		assert.Equal(t, l, got)
	}
	_, err := ParseLevel("avx")
	assert.ErrorContains(t, err, "want one of generic, avx2, avx512")
}

func TestUseSwitchesAndRestores(t *testing.T) {
	before := Current()
	for _, l := range Supported() {
		restore, err := Use(l)
		require.NoError(t, err)
		assert.Equal(t, l, Current())
		restore()
		assert.Equal(t, before, Current())
	}
	if Detected() < AVX512 {
		_, err := Use(Detected() + 1)
		assert.ErrorContains(t, err, "not supported by this CPU")
	}
	t.Logf("detected %v, current %v; %s", Detected(), Current(), Describe())
}
