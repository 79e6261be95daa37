package mnist_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log"

	"github.com/gotrain/gotrain/models/mnist"
)

// Embedded needs no files; hold out the last 1,000 training images for
// validation without copying.
func ExampleEmbedded() {
	train, test, err := mnist.Embedded()
	if err != nil {
		log.Fatal(err)
	}
	val := train.Subset(train.N-1000, train.N)
	train = train.Subset(0, train.N-1000)
	fmt.Println("train:", train.N, "val:", val.N, "test:", test.N)
	fmt.Println("features:", train.Features, "classes:", train.Classes)
	fmt.Println("first label:", train.Labels[0])
	// Output:
	// train: 9000 val: 1000 test: 2000
	// features: 784 classes: 10
	// first label: 5
}

// Errors say what is wrong and where, and wrap ErrFormat so that a bad file
// can be told from a missing one.
func ExampleReadLabels() {
	// An IDX1 header for two labels, then the labels 3 and 12.
	data := []byte{0, 0, 8, 1, 0, 0, 0, 2, 3, 12}
	_, err := mnist.ReadLabels(bytes.NewReader(data))
	fmt.Println(err)
	fmt.Println(errors.Is(err, mnist.ErrFormat))

	_, err = mnist.Load("testdata/no-such-images", "testdata/no-such-labels")
	fmt.Println(errors.Is(err, fs.ErrNotExist), errors.Is(err, mnist.ErrFormat))
	// Output:
	// mnist: read labels: label 12 at index 1 (byte offset 9) not in [0,10): malformed IDX data
	// true
	// true false
}
