package csvdata_test

import (
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/gotrain/gotrain/models/csvdata"
)

// Load Fisher's Iris data (testdata/iris.csv; see testdata/README.md), hold
// out a fifth for validation, and standardize both parts with the training
// part's statistics. The table's fields are what train.Classification takes:
// train.Classification(tr.X, tr.Labels, tr.Features, tr.Classes).
func ExampleLoad() {
	t, err := csvdata.Load("testdata/iris.csv", csvdata.Options{Label: "species"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("rows:", t.N, "features:", t.FeatureNames)
	fmt.Println("classes:", t.ClassNames)
	fmt.Println("first row:", t.X[:t.Features], "label:", t.Labels[0], t.ClassNames[t.Labels[0]])

	tr, val, err := t.Split(0.2, 1)
	if err != nil {
		log.Fatal(err)
	}
	mean, std := tr.Standardize()
	if err := val.ApplyStandardize(mean, std); err != nil {
		log.Fatal(err)
	}
	fmt.Println("train:", tr.N, "val:", val.N)
	fmt.Printf("train mean of sepal_length before standardizing: %.2f cm\n", mean[0])
	// Output:
	// rows: 150 features: [sepal_length sepal_width petal_length petal_width]
	// classes: [setosa versicolor virginica]
	// first row: [5.1 3.5 1.4 0.2] label: 0 setosa
	// train: 120 val: 30
	// train mean of sepal_length before standardizing: 5.86 cm
}

// Errors name the file, the line and the column, and wrap ErrFormat so that
// a bad file can be told from a failing reader.
func ExampleRead() {
	data := "height,width,kind\n1.5,2,a\n2.5,n/a,b\n"
	_, err := csvdata.Read(strings.NewReader(data), "shapes.csv", csvdata.Options{})
	fmt.Println(err)
	fmt.Println(errors.Is(err, csvdata.ErrFormat))

	// Integer labels sort as numbers, and Labels index ClassNames.
	t, _ := csvdata.Read(strings.NewReader("0.5,10\n0.7,9\n0.1,10\n"), "digits.csv", csvdata.Options{})
	fmt.Println(t.ClassNames, t.Labels, t.FeatureNames)
	// Output:
	// csvdata: shapes.csv: line 3, column 1 ("width"): value "n/a" is not a number: malformed CSV data
	// true
	// [9 10] [1 0 1] [col0]
}
