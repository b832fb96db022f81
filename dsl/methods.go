package dsl

// This file is the single source of truth for the unlearning methods a spec
// can name and their parameters' defaults and ranges. Package unlearn reads
// its defaults from here (LookupMethod(name).Defaults()). The definitions
// and defaults are those of METHODS.md beside DESIGN.md; each entry names
// the section it follows.

// Methods lists every unlearning method, in the order the docs present them.
var Methods = []Variant{
	{
		Name:   "osp",
		Doc:    "Orthogonal Soft Pruning: attenuate the filters whose activations separate the forget classes",
		Source: "METHODS.md, Orthogonal Soft Pruning",
		Params: []ParamSpec{
			num("ratio", 0.05).in(0, 1).doc("pruning ratio ρ: fraction of each layer's filters selected"),
			num("strength", 0.4).in(0, 1).doc("pruning strength s of the top-ranked filter"),
			integer("n_forget", 64).atLeast(1).doc("forget-class samples in the activation pass"),
			integer("n_retain", 64).atLeast(1).doc("retained-class samples in the activation pass"),
			str("tap", "conv", "conv", "bn", "relu").doc("where filter activations are measured"),
			str("schedule", "linear", "linear", "constant").doc("attenuation over the selected ranks"),
			num("gamma_min", 0.01).in(0, 1).doc("floor of the scaling factor"),
			str("bn", "keep", "keep", "scale").doc("also scale the following batch norm's γ and β"),
			integer("rounds", 1).atLeast(1).doc("measure-select-attenuate rounds"),
			nullNum("target").in(0, 1).doc("stop the rounds once forget accuracy ≤ target (null: run them all)"),
			str("scope", "layer", "layer", "global").doc("ρ per layer, or over z-scored Δ of all filters"),
			integer("finetune_epochs", 0).atLeast(0).doc("fine-tuning epochs on D_r after pruning"),
			num("finetune_lr", 0.01).above(0),
			num("finetune_gamma", 0.9).above(0).doc("exponential lr decay per epoch (paper eq. 19)"),
			num("finetune_momentum", 0.9).in(0, 1),
			integer("finetune_batch_size", 128).atLeast(1),
			integer("finetune_patience", 1).atLeast(0).doc("epochs without retained-accuracy gain before stopping"),
			boolean("finetune_freeze", false).doc("keep the attenuated filters (and their batch-norm channels) fixed while fine-tuning"),
			str("finetune_bn", "train", "train", "frozen").doc("batch norm while fine-tuning: batch statistics (train) or the running ones, kept fixed (frozen)"),
			boolean("finetune_reprune", false).doc("after fine-tuning, run the rounds again until the forget samples are back at the target"),
			boolean("finetune_reprune_each_epoch", false).doc("fine-tune one epoch at a time and re-prune after each (needs finetune_reprune; every epoch runs, finetune_patience does not stop them)"),
		},
	},
	{
		Name:   "retrain",
		Doc:    "train from scratch on D_r with the model's recipe (the gold standard)",
		Source: "METHODS.md, Baselines, Retrain",
	},
	{
		Name:   "ssd",
		Doc:    "Selective Synaptic Dampening (Foster et al., AAAI 2024)",
		Source: "METHODS.md, Baselines, SSD",
		Params: []ParamSpec{
			num("alpha", 10).above(0).doc("selection threshold α on I_f / I_D"),
			num("lambda", 1).above(0).doc("dampening constant λ"),
			integer("batch_size", 64).atLeast(1),
		},
	},
	{
		Name:   "emni",
		Doc:    "error-maximising noise, impair and repair (UNSIR, Tarun et al., TNNLS 2023)",
		Source: "METHODS.md, Baselines, EMNI / UNSIR",
		Params: []ParamSpec{
			integer("noise_batch", 32).atLeast(1),
			integer("noise_steps", 25).atLeast(1),
			num("noise_lr", 0.1).above(0),
			num("noise_reg", 0.1).atLeast(0),
			integer("noise_copies", 80).atLeast(1),
			integer("retain_per_class", 500).atLeast(1),
			num("impair_lr", 1e-4).above(0),
			integer("impair_batch_size", 32).atLeast(1),
			num("repair_lr", 1e-4).above(0),
			integer("repair_batch_size", 128).atLeast(1),
		},
	},
	{
		Name:   "tfidf",
		Doc:    "TF-IDF channel pruning and fine-tuning (Wang et al., WWW 2022)",
		Source: "METHODS.md, Baselines, TF-IDF",
		Params: []ParamSpec{
			nullNum("ratio").in(0, 1).doc("fraction of filters zeroed (null: 0.05 ResNet / 0.11 VGG on 10 classes, 0.10 / 0.15 on 100)"),
			nullNum("batches").atLeast(1).ints().doc("batches of features (null: 1 for 10 classes, 20 for 100)"),
			integer("batch_size", 256).atLeast(1),
			str("prune", "top", "top", "lowest").doc("top scores (the paper) or lowest (the reference code)"),
			integer("finetune_epochs", 10).atLeast(0),
			num("finetune_lr", 0.1).above(0).doc("initial learning rate of the cosine schedule"),
			num("finetune_momentum", 0.9).in(0, 1),
			num("finetune_weight_decay", 5e-4).atLeast(0),
			boolean("finetune_nesterov", true),
			integer("finetune_batch_size", 128).atLeast(1),
		},
	},
	{
		Name:   "finetune",
		Doc:    "fine-tune on D_r",
		Source: "METHODS.md, More baselines, Finetune",
		Params: []ParamSpec{
			integer("epochs", 5).atLeast(0), num("lr", 0.02).above(0), num("momentum", 0.9).in(0, 1),
			num("weight_decay", 5e-4).atLeast(0), integer("batch_size", 64).atLeast(1),
		},
	},
	{
		Name:   "neggrad",
		Doc:    "gradient ascent on D_f (plus: mixed with descent on D_r)",
		Source: "METHODS.md, More baselines, NegGrad",
		Params: []ParamSpec{
			integer("epochs", 10).atLeast(0), num("lr", 0.02).above(0), num("momentum", 0.9).in(0, 1),
			num("weight_decay", 5e-4).atLeast(0), integer("batch_size", 64).atLeast(1),
			str("variant", "plain", "plain", "plus"),
			num("alpha", 0.99).in(0, 1).doc("NegGrad+ weight of the retain loss"),
		},
	},
	{
		Name:   "random_labels",
		Doc:    "train on D_f relabelled at random, mixed with D_r (amnesiac)",
		Source: "METHODS.md, More baselines, Random labels",
		Params: []ParamSpec{
			integer("epochs", 3).atLeast(0), num("lr", 1e-4).above(0), integer("batch_size", 128).atLeast(1),
		},
	},
	{
		Name:   "bad_teacher",
		Doc:    "distil from a competent and an incompetent teacher (Chundawat et al., AAAI 2023)",
		Source: "METHODS.md, More baselines, Bad Teacher",
		Params: []ParamSpec{
			num("retain_fraction", 0.3).in(0, 1), num("temperature", 1).above(0), num("lr", 1e-4).above(0),
			integer("epochs", 1).atLeast(0), integer("batch_size", 256).atLeast(1),
		},
	},
	{
		Name:   "scrub",
		Doc:    "SCRUB teacher-student unlearning (Kurmanji et al., NeurIPS 2023)",
		Source: "METHODS.md, More baselines, SCRUB",
		Params: []ParamSpec{
			num("temperature", 4).above(0), integer("epochs", 3).atLeast(0),
			integer("max_epochs", 2).atLeast(0).doc("epochs that start with a max-step on D_f"),
			num("lr", 5e-4).above(0), num("momentum", 0.9).in(0, 1), num("weight_decay", 5e-4).atLeast(0),
			integer("forget_batch_size", 512).atLeast(1), integer("retain_batch_size", 256).atLeast(1),
			num("alpha", 0.001).atLeast(0).doc("weight of the distillation term on D_r"),
			num("gamma", 0.99).atLeast(0).doc("weight of the cross-entropy term on D_r"),
		},
	},
	{
		Name:   "salun",
		Doc:    "saliency-masked random-label training (Fan et al., ICLR 2024)",
		Source: "METHODS.md, More baselines, SalUn",
		Params: []ParamSpec{
			num("fraction", 0.5).in(0, 1).doc("fraction of parameters the saliency mask keeps"),
			integer("epochs", 10).atLeast(0), num("lr", 0.013).above(0), num("momentum", 0.9).in(0, 1),
			num("weight_decay", 5e-4).atLeast(0), integer("batch_size", 64).atLeast(1),
		},
	},
	{
		Name:   "boundary_shrink",
		Doc:    "train on the labels of adversarial neighbours (Chen et al., CVPR 2023)",
		Source: "METHODS.md, More baselines, Boundary Shrink",
		Params: []ParamSpec{
			num("epsilon", 0.1).above(0).doc("FGSM step in pixel space"),
			num("lr", 1e-5).above(0), num("momentum", 0.9).in(0, 1),
			integer("epochs", 10).atLeast(0), integer("batch_size", 64).atLeast(1),
		},
	},
}

// LookupMethod returns the method called name.
func LookupMethod(name string) (*Variant, bool) {
	for i := range Methods {
		if Methods[i].Name == name {
			return &Methods[i], true
		}
	}
	return nil, false
}

// MethodNames lists the method names in table order.
func MethodNames() []string {
	names := make([]string, len(Methods))
	for i, m := range Methods {
		names[i] = m.Name
	}
	return names
}
