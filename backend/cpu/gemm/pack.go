package gemm

// Packing copies a block of op(A) or op(B) into the order the micro-kernel reads it, resolving
// the transpose on the way, so that the kernel only ever sees one layout. Partial panels at the
// edges are padded with zeros: the kernel then always computes a full tile, and the padding only
// reaches the rows or columns of that tile which are thrown away.

// packA packs the mb×kb block of op(A) starting at row ic, column pc into dst as mr-row
// micro-panels: panel q holds rows q*mr.. as kb columns of mr consecutive values.
func packA[T scalar](dst []T, trans bool, a []T, lda, ic, mb, pc, kb, mr int) {
	// The full panels of a transposed A at the AVX-512 level row by row across the panels (see
	// copyPanels14); the loop below does the rest, panel by panel.
	q0 := 0
	if trans && mr == 14 && mb >= 14 && copyPanels14(dst, a[pc*lda+ic:], lda, kb, mb/14) {
		q0 = mb / 14 // only a ragged last panel is left
	}
	// At AVX2, panel by panel with a prefetch (copyPanelsAVX2).
	if trans && mr == 6 && mb >= 6 && copyPanelsAVX2(dst, a[pc*lda+ic:], lda, kb, mb/6, 6) {
		q0 = mb / 6
	}
	for q := q0; q*mr < mb; q++ {
		rows := min(mr, mb-q*mr)
		d := dst[q*mr*kb : (q+1)*mr*kb]
		i0 := ic + q*mr
		if trans {
			// op(A)(i, p) = a[p*lda + i]: each column of the panel is a contiguous run.
			if rows == 6 && mr == 6 {
				// As in packB: element moves rather than a memmove call per 24 bytes.
				for p := range kb {
					dc, sc := (*[6]T)(d[p*6:]), (*[6]T)(a[(pc+p)*lda+i0:])
					dc[0], dc[1], dc[2], dc[3], dc[4], dc[5] = sc[0], sc[1], sc[2], sc[3], sc[4], sc[5]
				}
				continue
			}
			if rows == 14 && mr == 14 {
				// 16-byte moves: a 56-byte array copy is a memmove call in generic code.
				for p := range kb {
					dc, sc := d[p*14:p*14+14], a[(pc+p)*lda+i0:][:14]
					*(*[4]T)(dc[0:]) = *(*[4]T)(sc[0:])
					*(*[4]T)(dc[4:]) = *(*[4]T)(sc[4:])
					*(*[4]T)(dc[8:]) = *(*[4]T)(sc[8:])
					*(*[2]T)(dc[12:]) = *(*[2]T)(sc[12:])
				}
				continue
			}
			for p := range kb {
				src := a[(pc+p)*lda+i0:][:rows]
				col := d[p*mr : p*mr+mr]
				copy(col, src)
				clear(col[rows:])
			}
			continue
		}
		if rows == 6 && mr == 6 {
			packRows6(d, a, (i0)*lda+pc, lda, kb)
			continue
		}
		if rows == 14 && mr == 14 {
			// At AVX-512 in 16×16 transposes (each source line read once: see transpose16x16s),
			// else rows 0-7 and 6-13 as two transposed 8-row blocks (rows 6 and 7 are written
			// twice, with the same values), in assembly where there is one.
			off := i0*lda + pc
			done := transpose16(d, a[off:], lda, kb, 14, 14)
			if kb-done >= 8 {
				if k8 := transpose8(d[done*14:], a[off+done:], lda, kb-done, 14); k8 > 0 {
					transpose8(d[done*14+6:], a[off+6*lda+done:], lda, kb-done, 14)
					done += k8
				}
			}
			for i := range 14 {
				src := a[off+i*lda+done : off+i*lda+kb]
				for p, v := range src {
					d[(done+p)*14+i] = v
				}
			}
			continue
		}
		// op(A)(i, p) = a[i*lda + p]: read each row of the panel contiguously and scatter it
		// with stride mr; the panel is small enough to stay in L1 while being written. A ragged
		// panel is cleared first in one call (a clear of mr-rows elements per column cost a
		// memclr call each).
		if rows < mr {
			clear(d)
		}
		for i := range rows {
			src := a[(i0+i)*lda+pc:][:kb]
			for p, v := range src {
				d[p*mr+i] = v
			}
		}
	}
}

// packB packs the kb×nb block of op(B) starting at row pc, column jc into dst as nr-column
// micro-panels: panel q holds columns q*nr.. as kb rows of nr consecutive values.
func packB[T scalar](dst []T, trans bool, b []T, ldb, pc, kb, jc, nb, nr int) {
	if !trans && nr == 32 {
		// The AVX-512 float32 tile: row by row of B across all the full panels, so that B is
		// read sequentially (panel by panel, every row is a new 4 KiB page for a wide B, and a
		// B that is not in cache was read at a fifth of the speed): in assembly with ZMM moves
		// where there is one (copyPanels32), else with 16-byte moves (a 32-byte array copy is a
		// memmove call in this generic code), which took 6-9% of a 1024-wide product.
		full := nb / 32
		if full == 0 || !copyPanels32(dst, b[pc*ldb+jc:], ldb, kb, full) {
			for p := range kb {
				sr := b[(pc+p)*ldb+jc:][:full*32]
				for q := range full {
					dr, s := dst[q*32*kb+p*32:][:32], sr[q*32:][:32]
					for o := 0; o < 32; o += 4 {
						*(*[4]T)(dr[o:]) = *(*[4]T)(s[o:])
					}
				}
			}
		}
		if full*32 == nb {
			return
		}
		dst, jc, nb = dst[full*32*kb:], jc+full*32, nb-full*32 // the ragged last panel, below
	}
	if !trans && nr == 16 && nb >= 16 && copyPanelsAVX2(dst, b[pc*ldb+jc:], ldb, kb, nb/16, 16) {
		// The AVX2 float32 tile's full panels, in assembly with a prefetch (copyPanelsAVX2).
		full := nb / 16
		if full*16 == nb {
			return
		}
		dst, jc, nb = dst[full*16*kb:], jc+full*16, nb-full*16 // the ragged last panel, below
	}
	for q := 0; q*nr < nb; q++ {
		cols := min(nr, nb-q*nr)
		d := dst[q*nr*kb : (q+1)*nr*kb]
		j0 := jc + q*nr
		if !trans {
			// op(B)(p, j) = b[p*ldb + j]: each row of the panel is a contiguous run.
			if cols == 16 && nr == 16 {
				// The float32 case, by far the most common. Copying 16-byte arrays compiles to
				// one vector load and store each; copy, or assigning a larger array, calls
				// memmove, whose overhead on 64 bytes exceeds the copy itself.
				for p := range kb {
					dr, sr := d[p*16:p*16+16], b[(pc+p)*ldb+j0:][:16]
					*(*[4]T)(dr[0:]) = *(*[4]T)(sr[0:])
					*(*[4]T)(dr[4:]) = *(*[4]T)(sr[4:])
					*(*[4]T)(dr[8:]) = *(*[4]T)(sr[8:])
					*(*[4]T)(dr[12:]) = *(*[4]T)(sr[12:])
				}
				continue
			}
			if cols == 8 && nr == 8 {
				// The float64 case, likewise in 16-byte moves.
				for p := range kb {
					dr, sr := d[p*8:p*8+8], b[(pc+p)*ldb+j0:][:8]
					*(*[2]T)(dr[0:]) = *(*[2]T)(sr[0:])
					*(*[2]T)(dr[2:]) = *(*[2]T)(sr[2:])
					*(*[2]T)(dr[4:]) = *(*[2]T)(sr[4:])
					*(*[2]T)(dr[6:]) = *(*[2]T)(sr[6:])
				}
				continue
			}
			// A ragged panel (the last columns, or a narrow B such as a 10-class layer): at
			// AVX-512 one masked load and one store per row (packRagged: this loop was a third of
			// the 10-class layer's 128×256×10 product), else element moves, as a copy and a
			// clear per row are two calls for a few floats.
			if packRagged(d, b[pc*ldb+j0:], ldb, kb, cols, nr) {
				continue
			}
			for p := range kb {
				row := d[p*nr : p*nr+nr]
				src := b[(pc+p)*ldb+j0:][:cols]
				for j := range row {
					var v T
					if j < len(src) {
						v = src[j]
					}
					row[j] = v
				}
			}
			continue
		}
		full8 := 0
		if nr%8 == 0 {
			// Eight rows at a time: in assembly (8×8 transposes) for the whole multiples of 8
			// of kb where there is one, else, and for the rest, with the live row slices
			// within the registers. A ragged panel (a narrow B such as the 25 or 150 columns
			// of a convolution's filter gradient) takes its whole groups of 8 the same way.
			full8 = cols &^ 7
			for j := 0; j < full8; j += 8 {
				// At AVX-512, 16 columns at a time (see transpose16x16s).
				if j+16 <= full8 {
					if done := transpose16(d[j:], b[(j0+j)*ldb+pc:], ldb, kb, nr, 16); done > 0 {
						// The last kb%16 columns of each half: 8 more in an 8×8 transpose where
						// they are there, the rest in Go.
						for _, h := range [2]int{j, j + 8} {
							more := done
							if kb-done >= 8 {
								more += transpose8(d[done*nr+h:], b[(j0+h)*ldb+pc+done:], ldb, kb-done, nr)
							}
							packRows8(d[more*nr:], b, (j0+h)*ldb+pc+more, ldb, kb-more, nr, h)
						}
						j += 8
						continue
					}
				}
				done := transpose8(d[j:], b[(j0+j)*ldb+pc:], ldb, kb, nr)
				packRows8(d[done*nr:], b, (j0+j)*ldb+pc+done, ldb, kb-done, nr, j)
			}
			if full8 == nr {
				continue
			}
		}
		// op(B)(p, j) = b[j*ldb + p]: read each remaining column of the panel contiguously and
		// scatter it with stride nr.
		for j := full8; j < cols; j++ {
			src := b[(j0+j)*ldb+pc:][:kb]
			for p, v := range src {
				d[p*nr+j] = v
			}
		}
		if cols < nr {
			for p := range kb {
				clear(d[p*nr+cols : p*nr+nr])
			}
		}
	}
}

// packRows6 and packRows8 transpose a full 6×kb or 8×kb block whose rows start at src[off],
// src[off+ld], ...: they read all rows in step and write dst (from column col0, with row
// stride stride) sequentially. Writing with a stride instead, one source row at a time, touches
// a new cache line on almost every store and made packing a quarter of the time of a
// transposed-B product.
func packRows6[T scalar](dst, src []T, off, ld, kb int) {
	// Whole groups of 4 columns in assembly where there is one (packRows6Asm), the rest here.
	done := packRows6Asm(dst, src, off, ld, kb)
	dst, off, kb = dst[6*done:], off+done, kb-done
	if kb == 0 {
		return
	}
	r0 := src[off:][:kb]
	r1 := src[off+ld:][:kb]
	r2 := src[off+2*ld:][:kb]
	r3 := src[off+3*ld:][:kb]
	r4 := src[off+4*ld:][:kb]
	r5 := src[off+5*ld:][:kb]
	dst = dst[:6*kb]
	for p := range kb {
		d := (*[6]T)(dst[p*6:])
		d[0], d[1], d[2], d[3], d[4], d[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
	}
}

func packRows8[T scalar](dst, src []T, off, ld, kb, stride, col0 int) {
	r0 := src[off:][:kb]
	r1 := src[off+ld:][:kb]
	r2 := src[off+2*ld:][:kb]
	r3 := src[off+3*ld:][:kb]
	r4 := src[off+4*ld:][:kb]
	r5 := src[off+5*ld:][:kb]
	r6 := src[off+6*ld:][:kb]
	r7 := src[off+7*ld:][:kb]
	for p := range kb {
		d := (*[8]T)(dst[p*stride+col0:])
		d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
		d[4], d[5], d[6], d[7] = r4[p], r5[p], r6[p], r7[p]
	}
}
