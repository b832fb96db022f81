package paper

// Table describes one of the paper's tables: what it measured, how it is
// printed, and what had to be inferred because the text lost it.
type Table struct {
	ID    string // table1, table2, table3a, table3b, appendix_a
	Title string // the paper's name for it
	// Setting says what was measured, as far as the paper says.
	Setting string
	// Dims are the keys in which its values differ, Metrics the metrics it
	// prints.
	Dims    []string
	Metrics []string
	// PrintedRows and PrintedColumns are the shape of the printed table:
	// the lines of numbers and the numbers on each (Appendix A: its three
	// tables together).
	PrintedRows, PrintedColumns int
	// Notes record what the text does not say, what was inferred and from
	// which evidence, and oddities of the printed numbers.
	Notes []string
}

var tables = []Table{
	{
		ID:    "table1",
		Title: "Table 1: plain vs orthogonal training",
		Setting: "CIFAR-10, CIFAR-100 and TinyImageNet with ResNet-18, ResNet-50 and VGG-16, each trained without " +
			"(Orig.) and with (Ortho.) the orthogonality penalty; test accuracy on the class to be forgotten and on " +
			"the retained classes, before unlearning.",
		Dims:           []string{"dataset", "arch", "model"},
		Metrics:        []string{"acc_forget", "acc_retain"},
		PrintedRows:    9,
		PrintedColumns: 4,
		Notes: []string{
			"The sub-column headers (D_u, D_r) were lost; the prose says the table shows accuracy on unlearned and retained classes, and the Ortho. numbers for CIFAR-10 equal Appendix A's raw model of class 1.",
			"CIFAR-10's forget class is 1 (automobile), inferred: for all three architectures the Ortho. pair equals Appendix A's raw-model row of class 1. The class of CIFAR-100 and TinyImageNet is not stated, so those values have no forget key.",
			"Neither λ nor the training recipe (epochs, optimiser) is stated.",
			"CIFAR-10 VGG-16 prints the same numbers for Orig. and Ortho. (97.80%, 93.42%).",
			"VGG-16 is taken as Lethe's vgg16_bn, the only VGG-16 Lethe has; the paper does not say whether it has batch norm.",
		},
	},
	{
		ID:    "table2",
		Title: "Table 2: OSP against the baselines",
		Setting: "Every dataset and architecture of Table 1; Retrain, SSD, EMNI, TF-IDF and OSP (Ours): test accuracy " +
			"on the forgotten class and on the retained classes, unlearning wall-clock time on a TITAN Xp, and the " +
			"SVM membership-inference attack's success on the forgotten data.",
		Dims:           []string{"dataset", "arch", "method"},
		Metrics:        []string{"acc_forget", "acc_retain", "time", "mia"},
		PrintedRows:    15,
		PrintedColumns: 12,
		Notes: []string{
			"The per-dataset sub-column headers print only Time and MIA; the first two of each group are D_u and D_r accuracy (order as in Tables 1 and 3).",
			"TD-IDF in the table is the TF-IDF channel pruning of reference [29] (Lethe's tfidf); Ours is osp.",
			"CIFAR-10's forget class is 1, inferred: the Ours rows equal Appendix A's pruned model of class 1 for each architecture. The class of CIFAR-100 and TinyImageNet is not stated.",
			"OSP's ratio and strength per cell are not stated; ResNet-18 on CIFAR-10 equals Table 3's ratio 0.05, strength 0.4, and the prose gives ratio 0.02 for ResNet-50 on CIFAR-100.",
			"The TinyImageNet ResNet-18 TF-IDF time is printed without decimals (3187s).",
		},
	},
	{
		ID:    "table3a",
		Title: "Table 3(a): pruning ratio, orthogonal vs original model",
		Setting: "ResNet-18 on CIFAR-10, OSP at pruning ratios 0.01 to 0.05 on the orthogonal and the original " +
			"(plain) model: test accuracy on the forgotten and the retained classes.",
		Dims:           []string{"model", "ratio"},
		Metrics:        []string{"acc_forget", "acc_retain"},
		PrintedRows:    5,
		PrintedColumns: 4,
		Notes: []string{
			"Architecture and dataset come from the prose (Table 3(b)'s experiments are ResNet-18 on CIFAR-10, and 3(b) builds on 3(a)); the sub-column headers were lost.",
			"Strength 0.4 and forget class 1 are inferred: the orthogonal model at ratio 0.05 (0.0%, 90.34%) equals Table 3(b) at strength 0.4, Table 2's ResNet-18 CIFAR-10 OSP row and Appendix A's pruned model of class 1.",
		},
	},
	{
		ID:    "table3b",
		Title: "Table 3(b): pruning strength",
		Setting: "ResNet-18 on CIFAR-10, orthogonal model, OSP at pruning strengths 1.0 down to 0.2: test accuracy " +
			"on the forgotten and the retained classes.",
		Dims:           []string{"strength"},
		Metrics:        []string{"acc_forget", "acc_retain"},
		PrintedRows:    9,
		PrintedColumns: 2,
		Notes: []string{
			"Ratio 0.05 is inferred from the prose (\"building on the optimal pruning ratio identified in Table 3(a)\"; the prose of 3(a) singles out 0.05) and from the strength 0.4 row, which equals Table 3(a) at ratio 0.05; forget class 1 as for Table 3(a).",
		},
	},
	{
		ID:    "appendix_a",
		Title: "Appendix A: every CIFAR-10 class, pruned then fine-tuned",
		Setting: "CIFAR-10, each class forgotten in turn from the orthogonal model: the raw model, the model pruned " +
			"by OSP and the pruned model after a brief fine-tuning (\"3 to 5 epochs\"), test accuracy on the " +
			"forgotten and the retained classes, and a time.",
		Dims:           []string{"arch", "forget", "method"},
		Metrics:        []string{"acc_forget", "acc_retain", "time"},
		PrintedRows:    30,
		PrintedColumns: 7,
		Notes: []string{
			"The three tables carry no captions; their architectures (ResNet-18, ResNet-50, VGG-16 in printed order) are inferred: each raw-model row of class 1 equals Table 1's Ortho. numbers for CIFAR-10 of that architecture, and each pruned row of class 1 equals Table 2's OSP row.",
			"Classes are CIFAR-10's official indices (0 airplane ... 9 truck), printed in the order 1..9, 0.",
			"Raw Model is method original, Pruned Model osp, Fine-tuned Model finetune (OSP then fine-tuning on the retained data).",
			"The paper does not say what Time measures; at 16-51 s, against OSP's 0.1-0.6 s in Table 2, it is read as the fine-tuning's time and keyed to method finetune.",
			"OSP's ratio and strength are not stated (class 1 of ResNet-18 equals Table 3 at ratio 0.05, strength 0.4), nor the fine-tuning's epochs beyond \"3 to 5\" or its learning rate.",
		},
	},
}

// Describe returns the description of a table.
func Describe(id string) (Table, bool) {
	for _, t := range tables {
		if t.ID == id {
			return t, true
		}
	}
	return Table{}, false
}

func tableIDs() []string {
	ids := make([]string, len(tables))
	for i, t := range tables {
		ids[i] = t.ID
	}
	return ids
}
