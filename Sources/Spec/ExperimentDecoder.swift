// SourceNode (the merged document of one variant) → Experiment, with every default filled in
// and every rule checked. One pass; problems go to the Reader's diagnostics.

import Foundation

struct ExperimentDecoder {
    let reader: Reader
    /// Names of the experiment's variants, to check `gate.*.against`.
    let variantNames: [String]

    static let topLevelKeys = ["name", "description", "extends", "data", "model", "loss", "optimizer", "schedule",
                               "training", "evaluate", "gate", "seeds", "executor", "matrix", "ablate", "variants"]

    func decode(_ root: SourceNode) -> Experiment {
        var e = Experiment(name: "")
        guard let f = reader.fields(root, "", keys: Self.topLevelKeys) else { return e }
        if let n = f["name"], let name = reader.text(n, "name") {
            if name.isEmpty || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) {
                reader.report(.invalid("name", "name must be letters, digits, '.', '_' or '-' (got '\(name)')",
                                       at: n.location))
            }
            e.name = name
        } else if f["name"] == nil {
            reader.report(.missingKey("name", at: f.location))
        }
        if let n = f["description"], let d = reader.text(n, "description") { e.description = d }
        if let n = f["data"] { e.data = data(n) }
        if let n = f["model"] { e.model = model(n) }
        if let n = f["loss"] { e.loss = loss(n) }
        if let n = f["optimizer"] { e.optimizer = optimizer(n) }
        if let n = f["training"] { e.training = training(n) }
        if let n = f["schedule"] { e.schedule = schedule(n, epochs: e.training.epochs) }
        if let n = f["evaluate"] { e.evaluate = evaluate(n) }
        if let n = f["gate"] { e.gate = gates(n, metrics: e.evaluate.metrics) }
        if let n = f["seeds"] { e.seeds = seeds(n) }
        if let n = f["executor"] { e.executor = executor(n) }
        crossChecks(e, f)
        return e
    }

    private func crossChecks(_ e: Experiment, _ f: Fields) {
        let ratios = f["data"]?["split"]?["ratios"]
        for (split, ratio) in [(EvaluationSplit.test, e.data.split.ratios.test), (.val, e.data.split.ratios.val)]
        where e.evaluate.split == split && ratio == 0 {
            let place = ratios?[split.rawValue]?.location ?? f["evaluate"]?["split"]?.location ?? f.location
            reader.report(.invalid("evaluate.split",
                                   "evaluate.split is \(split.rawValue) but data.split.ratios.\(split.rawValue) is 0",
                                   at: place))
        }
        if e.data.split.ratios.val == 0 {
            let watched = [e.training.earlyStopping.enabled ? "training.early_stopping" : nil,
                           e.schedule.kind == .plateau ? "schedule (plateau)" : nil].compactMap { $0 }
            if !watched.isEmpty {
                reader.report(.invalid("data.split.ratios.val",
                                       "data.split.ratios.val is 0 but \(watched.joined(separator: " and ")) "
                                       + (watched.count > 1 ? "need" : "needs") + " validation metrics", at: ratios?["val"]?.location ?? f.location))
            }
        }
    }

    // MARK: data

    private func data(_ node: SourceNode) -> DataSpec {
        var d = DataSpec()
        guard let f = reader.fields(node, "data", keys: ["source", "clean", "split"]) else { return d }
        if let n = f["source"], let s = source(n) { d.source = s }
        if let n = f["clean"] { d.clean = clean(n) }
        if let n = f["split"] { d.split = split(n) }
        return d
    }

    private func source(_ node: SourceNode) -> DataSource? {
        let path = "data.source"
        if node.string == "synthetic" { return .synthetic(SyntheticSource()) }
        guard let f = reader.fields(node, path, keys: ["synthetic", "hdf5"]) else { return nil }
        guard node.entries!.count == 1 else {
            reader.report(.invalid(path, "\(path) must have exactly one of synthetic, hdf5 (got \(node.entries!.count))",
                                   at: node.location))
            return nil
        }
        if node["synthetic"] != nil {
            var s = SyntheticSource()
            guard let n = f["synthetic"] else { return .synthetic(s) }
            guard let g = reader.fields(n, f.path("synthetic"), keys: ["count", "size", "seed"]) else { return nil }
            reader.integer(g, "count", &s.count, .atLeastOne)
            reader.integer(g, "seed", &s.seed, .nonNegative)
            if let n = g["size"], let size = reader.integer(n, g.path("size")) {
                if size > 0, size % 32 == 0 {
                    s.size = size
                } else {
                    reader.report(.outOfRange(g.path("size"), requirement: "a positive multiple of 32", got: String(size),
                                              at: n.location))
                }
            }
            return .synthetic(s)
        }
        if let n = node["hdf5"] {
            let hpath = f.path("hdf5")
            guard let h = reader.fields(n, hpath, keys: ["dir"]) else { return nil }
            guard let dn = h["dir"] else {
                reader.report(.missingKey(h.path("dir"), at: n.location))
                return nil
            }
            guard let dir = reader.text(dn, h.path("dir")) else { return nil }
            let resolved = Paths.resolve(dir, relativeTo: dn.location.file)
            var isDir: ObjCBool = false
            if !FileManager.default.fileExists(atPath: resolved, isDirectory: &isDir) || !isDir.boolValue {
                reader.report(.invalid(h.path("dir"),
                                       "\(h.path("dir")): data directory '\(dir)' does not exist (looked for \(resolved))",
                                       at: dn.location))
            }
            return .hdf5(HDF5Source(dir: resolved))
        }
        return nil
    }

    private func clean(_ node: SourceNode) -> CleanSpec {
        var c = CleanSpec()
        guard let f = reader.fields(node, "data.clean", keys: ["tissue_coverage", "mua_range", "musp_range",
                                                               "drop_duplicates", "require_finite", "check_labels"])
        else { return c }
        reader.interval(f, "tissue_coverage", &c.tissueCoverage, .unitInterval)
        reader.interval(f, "mua_range", &c.muaRange, .nonNegative)
        reader.interval(f, "musp_range", &c.muspRange, .nonNegative)
        reader.boolean(f, "drop_duplicates", &c.dropDuplicates)
        reader.boolean(f, "require_finite", &c.requireFinite)
        reader.boolean(f, "check_labels", &c.checkLabels)
        return c
    }

    private func split(_ node: SourceNode) -> SplitSpec {
        var s = SplitSpec()
        guard let f = reader.fields(node, "data.split", keys: ["ratios", "stratify_by", "bins", "seed"]) else { return s }
        if let n = f["ratios"], let r = reader.fields(n, f.path("ratios"), keys: ["train", "val", "test"]) {
            var ratios = SplitRatios()
            let before = reader.diagnostics.count
            reader.number(r, "train", &ratios.train, Bounds(lo: 0, loInclusive: false, hi: 1))
            reader.number(r, "val", &ratios.val, .unitInterval)
            reader.number(r, "test", &ratios.test, .unitInterval)
            let sum = ratios.train + ratios.val + ratios.test
            if reader.diagnostics.count == before, abs(sum - 1) > 1e-6 {
                reader.report(.invalid(f.path("ratios"), "\(f.path("ratios")) must sum to 1 (got \(fmt(sum)): "
                                       + "train \(fmt(ratios.train)) + val \(fmt(ratios.val)) + test \(fmt(ratios.test)))",
                                       at: n.location))
            }
            s.ratios = ratios
        }
        if let n = f["stratify_by"],
           let words = reader.wordSet(n, f.path("stratify_by"), allowed: StratifyKey.allCases.map(\.rawValue)) {
            s.stratifyBy = words.compactMap(StratifyKey.init(rawValue:))
        }
        if let n = f["bins"] {
            let binned = StratifyKey.allCases.filter(\.isBinned).map(\.rawValue)
            if n.scalar != nil {
                if let k = reader.integer(n, f.path("bins"), .atLeastOne) {
                    s.bins = Dictionary(uniqueKeysWithValues: binned.map { ($0, k) })
                }
            } else if let b = reader.fields(n, f.path("bins"), keys: binned) {
                for key in binned { reader.integer(b, key, &s.bins[key, default: SplitSpec.defaultBinCount], .atLeastOne) }
            }
        }
        reader.integer(f, "seed", &s.seed, .nonNegative)
        return s
    }

    // MARK: model

    private func model(_ node: SourceNode) -> ModelSpec {
        var m = ModelSpec()
        guard let f = reader.fields(node, "model", keys: ["base_channels", "latent_dim", "residual_blocks", "attention",
                                                          "dropout"]) else { return m }
        reader.integer(f, "base_channels", &m.baseChannels, .atLeastOne)
        reader.integer(f, "latent_dim", &m.latentDim, .atLeastOne)
        reader.integer(f, "residual_blocks", &m.residualBlocks, .between(1, 3))
        if let n = f["attention"], let a = attention(n, f.path("attention")) {
            m.attention = a
            if a.isEnabled, m.baseChannels < 8 {
                reader.report(.invalid(f.path("base_channels"),
                                       "model.base_channels must be >= 8 with attention (its bottleneck is c/8) (got \(m.baseChannels))",
                                       at: f["base_channels"]?.location ?? n.location))
            }
        }
        if let n = f["dropout"] {
            if n.scalar != nil {
                if let rate = reader.number(n, f.path("dropout"), .unitOpen) { m.dropout.rate = rate }
            } else if let d = reader.fields(n, f.path("dropout"), keys: ["kind", "rate"]) {
                reader.choice(d, "kind", &m.dropout.kind)
                reader.number(d, "rate", &m.dropout.rate, .unitOpen)
            }
        }
        return m
    }

    private func attention(_ node: SourceNode, _ path: String) -> AttentionSpec? {
        let expected = "none, spatial, or a list of \(AttentionSpec.encoderLayers) booleans (one per encoder layer)"
        var listNode = node
        if node.scalar != nil {
            guard let w = reader.word(node, path, allowed: ["none", "spatial"]) else { return nil }
            return w == "none" ? AttentionSpec.none : .spatial
        }
        if node.entries != nil {
            guard let f = reader.fields(node, path, keys: ["layers"]) else { return nil }
            guard let l = f["layers"] else {
                reader.report(.missingKey(f.path("layers"), at: node.location))
                return nil
            }
            listNode = l
        }
        let listPath = node.entries != nil ? join(path, "layers") : path
        guard let items = listNode.items, items.count == AttentionSpec.encoderLayers else {
            reader.report(.wrongType(listPath, expected: expected, got: listNode.items.map { "a list of \($0.count)" }
                                     ?? listNode.shortDescription, at: listNode.location))
            return nil
        }
        var layers: [Bool] = []
        for (i, item) in items.enumerated() {
            guard let b = reader.boolean(item, "\(listPath)[\(i)]") else { return nil }
            layers.append(b)
        }
        return AttentionSpec(layers: layers)
    }

    // MARK: loss

    private func loss(_ node: SourceNode) -> LossSpec {
        var l = LossSpec()
        guard let f = reader.fields(node, "loss", keys: ["terms", "channel_weights", "ssim"]) else { return l }
        if let n = f["terms"], let t = reader.fields(n, f.path("terms"), keys: ["rmse", "ssim"]) {
            // Listed terms only: a term not written has weight 0.
            var terms = LossTerms(rmse: 0, ssim: 0)
            let before = reader.diagnostics.count
            reader.number(t, "rmse", &terms.rmse, .nonNegative)
            reader.number(t, "ssim", &terms.ssim, .nonNegative)
            if reader.diagnostics.count == before, terms.rmse + terms.ssim <= 0 {
                reader.report(.invalid(f.path("terms"), "loss.terms must give at least one term a weight > 0",
                                       at: n.location))
            }
            l.terms = terms
        }
        if let n = f["channel_weights"], let c = reader.fields(n, f.path("channel_weights"), keys: ["mua", "musp"]) {
            reader.number(c, "mua", &l.channelWeights.mua, .nonNegative)
            reader.number(c, "musp", &l.channelWeights.musp, .nonNegative)
            if l.channelWeights.mua + l.channelWeights.musp <= 0 {
                reader.report(.invalid(f.path("channel_weights"), "loss.channel_weights must not all be 0",
                                       at: n.location))
            }
        }
        if let n = f["ssim"], let s = reader.fields(n, f.path("ssim"), keys: ["window", "sigma", "data_range"]) {
            if let w = s["window"], let window = reader.integer(w, s.path("window")) {
                if window >= 3, window % 2 == 1 {
                    l.ssim.window = window
                } else {
                    reader.report(.outOfRange(s.path("window"), requirement: "an odd integer >= 3", got: String(window),
                                              at: w.location))
                }
            }
            reader.number(s, "sigma", &l.ssim.sigma, .positive)
            reader.number(s, "data_range", &l.ssim.dataRange, .positive)
        }
        return l
    }

    // MARK: optimizer

    private func optimizer(_ node: SourceNode) -> OptimizerSpec {
        var o = OptimizerSpec()
        guard let f = reader.fields(node, "optimizer", keys: ["kind", "lr", "betas", "eps", "momentum", "nesterov",
                                                              "weight_decay", "grad_clip"]) else { return o }
        reader.choice(f, "kind", &o.kind)
        reader.number(f, "lr", &o.lr, .positive)
        if let n = f["betas"] {
            if let items = n.items, items.count == 2 {
                let b = items.enumerated().compactMap { reader.number($1, "\(f.path("betas"))[\($0)]", .unitOpen) }
                if b.count == 2 { o.betas = b }
            } else {
                reader.report(.wrongType(f.path("betas"), expected: "a list [beta1, beta2] of two numbers",
                                         got: n.items.map { "a list of \($0.count)" } ?? n.shortDescription,
                                         at: n.location))
            }
        }
        reader.number(f, "eps", &o.eps, .positive)
        reader.number(f, "momentum", &o.momentum, .unitOpen)
        reader.boolean(f, "nesterov", &o.nesterov)
        if let n = f["weight_decay"] {
            let path = f.path("weight_decay")
            if n.scalar != nil {
                if let x = reader.number(n, path, .nonNegative) { o.weightDecay = .constant(x) }
            } else if let w = reader.fields(n, path, keys: ["from", "to", "shape"]) {
                var from = 0.0, to = 0.0, shape = Shape.linear
                for key in ["from", "to"] where w[key] == nil {
                    reader.report(.missingKey(w.path(key), at: n.location))
                }
                reader.number(w, "from", &from, .nonNegative)
                reader.number(w, "to", &to, .nonNegative)
                reader.choice(w, "shape", &shape)
                o.weightDecay = .scheduled(from: from, to: to, shape: shape)
            }
        }
        if let n = f["grad_clip"], let x = reader.number(n, f.path("grad_clip"), .positive) { o.gradClip = x }
        return o
    }

    // MARK: schedule

    static let scheduleKeys: [ScheduleSpec.Kind: [String]] = [
        .constant: ["kind"],
        .plateau: ["kind", "patience", "factor", "min_lr", "threshold", "cooldown", "metric"],
        .phases: ["kind", "phases"],
        .onecycle: ["kind", "max_lr", "pct_start", "div_factor", "final_div_factor", "anneal"],
        .cosine: ["kind", "warmup_epochs", "warmup_start_factor", "min_lr"],
    ]

    private func schedule(_ node: SourceNode, epochs: Int) -> ScheduleSpec {
        let path = "schedule"
        var kind = ScheduleSpec.Kind.plateau
        let kindNode = node.scalar != nil ? node : node["kind"]
        if let k = kindNode, !k.isNull {
            guard let parsed = reader.choice(k, node.scalar != nil ? path : "schedule.kind", ScheduleSpec.Kind.self)
            else { return .default }
            kind = parsed
        }
        if node.scalar != nil {
            switch kind {
            case .constant: return .constant
            case .plateau: return .plateau(PlateauSchedule())
            case .onecycle: return .onecycle(OneCycleSchedule())
            case .cosine: return .cosine(CosineSchedule(warmupEpochs: min(CosineSchedule().warmupEpochs, epochs - 1)))
            case .phases:
                reader.report(.missingKey("schedule.phases", at: node.location))
                return .default
            }
        }
        let all = Array(Set(Self.scheduleKeys.values.flatMap { $0 })).sorted()
        guard let f = reader.fields(node, path, keys: Self.scheduleKeys[kind]!,
                                    kind: (kind.rawValue, "schedule", all)) else { return .default }
        switch kind {
        case .constant:
            return .constant
        case .plateau:
            var p = PlateauSchedule()
            reader.integer(f, "patience", &p.patience, .nonNegative)
            reader.number(f, "factor", &p.factor, .openUnit)
            reader.number(f, "min_lr", &p.minLR, .nonNegative)
            reader.number(f, "threshold", &p.threshold, .nonNegative)
            reader.integer(f, "cooldown", &p.cooldown, .nonNegative)
            if let n = f["metric"], let m = reader.word(n, f.path("metric"), allowed: Metrics.validation) { p.metric = m }
            return .plateau(p)
        case .phases:
            guard let n = f["phases"] else {
                reader.report(.missingKey("schedule.phases", at: node.location))
                return .default
            }
            guard let items = reader.list(n, f.path("phases")) else { return .default }
            if items.isEmpty {
                reader.report(.invalid(f.path("phases"), "schedule.phases must list at least one phase", at: n.location))
                return .default
            }
            var phases: [LRPhase] = []
            for (i, item) in items.enumerated() {
                let p = "\(f.path("phases"))[\(i)]"
                guard let g = reader.fields(item, p, keys: ["epochs", "lr"]) else { continue }
                var phase = LRPhase(epochs: 1, lr: 1e-3)
                for key in ["epochs", "lr"] where g[key] == nil { reader.report(.missingKey(g.path(key), at: item.location)) }
                reader.integer(g, "epochs", &phase.epochs, .atLeastOne)
                reader.number(g, "lr", &phase.lr, .positive)
                phases.append(phase)
            }
            return .phases(phases)
        case .onecycle:
            var o = OneCycleSchedule()
            reader.number(f, "max_lr", &o.maxLR, .positive)
            reader.number(f, "pct_start", &o.pctStart, .openUnit)
            reader.number(f, "div_factor", &o.divFactor, Bounds(lo: 1))
            reader.number(f, "final_div_factor", &o.finalDivFactor, Bounds(lo: 1))
            reader.choice(f, "anneal", &o.anneal)
            return .onecycle(o)
        case .cosine:
            var c = CosineSchedule()
            if let n = f["warmup_epochs"], let w = reader.integer(n, f.path("warmup_epochs"), .nonNegative) {
                if w < epochs {
                    c.warmupEpochs = w
                } else {
                    reader.report(.outOfRange(f.path("warmup_epochs"), requirement: "< training.epochs (\(epochs))",
                                              got: String(w), at: n.location))
                }
            } else if f["warmup_epochs"] == nil {
                c.warmupEpochs = min(c.warmupEpochs, epochs - 1)
            }
            reader.number(f, "warmup_start_factor", &c.warmupStartFactor, Bounds(lo: 0, loInclusive: false, hi: 1))
            reader.number(f, "min_lr", &c.minLR, .nonNegative)
            return .cosine(c)
        }
    }

    // MARK: training

    private func training(_ node: SourceNode) -> TrainingSpec {
        var t = TrainingSpec()
        guard let f = reader.fields(node, "training", keys: ["epochs", "batch_size", "accumulate", "early_stopping",
                                                             "precision", "augment", "gradient_checkpointing",
                                                             "standardize_targets", "ema", "deterministic"])
        else { return t }
        reader.integer(f, "epochs", &t.epochs, .atLeastOne)
        reader.integer(f, "batch_size", &t.batchSize, .atLeastOne)
        reader.integer(f, "accumulate", &t.accumulate, .atLeastOne)
        if let n = f["early_stopping"] {
            let path = f.path("early_stopping")
            if n.bool == false {
                t.earlyStopping.enabled = false
            } else if n.bool == true {
                t.earlyStopping.enabled = true
            } else if let e = reader.fields(n, path, keys: ["enabled", "patience", "metric", "min_delta"]) {
                reader.boolean(e, "enabled", &t.earlyStopping.enabled)
                reader.integer(e, "patience", &t.earlyStopping.patience, .atLeastOne)
                if let m = e["metric"], let w = reader.word(m, e.path("metric"), allowed: Metrics.validation) {
                    t.earlyStopping.metric = w
                }
                reader.number(e, "min_delta", &t.earlyStopping.minDelta, .nonNegative)
            }
        }
        reader.choice(f, "precision", &t.precision)
        if let n = f["augment"],
           let a = reader.wordSet(n, f.path("augment"), allowed: Augmentation.allCases.map(\.rawValue)) {
            t.augment = a.compactMap(Augmentation.init(rawValue:))
        }
        reader.boolean(f, "gradient_checkpointing", &t.gradientCheckpointing)
        reader.boolean(f, "standardize_targets", &t.standardizeTargets)
        if let n = f["ema"], let x = reader.number(n, f.path("ema"), .openUnit) {
            if x > 0 {
                t.ema = x
            } else {
                reader.report(.outOfRange(f.path("ema"), requirement: "in (0, 1)", got: n.scalar?.text ?? fmt(x),
                                          at: n.location))
            }
        }
        reader.boolean(f, "deterministic", &t.deterministic)
        return t
    }

    // MARK: evaluate, gate

    private func evaluate(_ node: SourceNode) -> EvaluateSpec {
        var e = EvaluateSpec()
        guard let f = reader.fields(node, "evaluate", keys: ["split", "metrics", "data_range", "checkpoint"])
        else { return e }
        reader.choice(f, "split", &e.split)
        if let n = f["metrics"], let m = reader.wordSet(n, f.path("metrics"), allowed: Metrics.all) {
            if m.isEmpty {
                reader.report(.invalid(f.path("metrics"), "evaluate.metrics must list at least one metric", at: n.location))
            } else {
                e.metrics = m
            }
        }
        reader.number(f, "data_range", &e.dataRange, .positive)
        reader.choice(f, "checkpoint", &e.checkpoint)
        return e
    }

    private func gates(_ node: SourceNode, metrics: [String]) -> [String: GateRule] {
        var out: [String: GateRule] = [:]
        guard let entries = node.entries else {
            reader.report(.wrongType("gate", expected: "a mapping of metric → rule", got: node.shortDescription,
                                     at: node.location))
            return out
        }
        for entry in entries {
            let path = join("gate", entry.key)
            guard Metrics.all.contains(entry.key) else {
                reader.report(.notOneOf(path, allowed: Metrics.all, got: entry.key,
                                        suggestion: Suggest.nearest(entry.key, in: Metrics.all), at: entry.keyLocation))
                continue
            }
            if !metrics.contains(entry.key) {
                reader.report(.invalid(path, "\(path): metric '\(entry.key)' is not in evaluate.metrics",
                                       at: entry.keyLocation))
            }
            guard let f = reader.fields(entry.value, path, keys: ["max", "min", "max_regression", "min_change", "against"])
            else { continue }
            var rule = GateRule()
            if let n = f["max"] { rule.max = reader.number(n, f.path("max")) }
            if let n = f["min"] { rule.min = reader.number(n, f.path("min")) }
            if let n = f["max_regression"] { rule.maxRegression = changeAmount(n, f.path("max_regression")) }
            if let n = f["min_change"] { rule.minChange = reader.number(n, f.path("min_change")) }
            if let n = f["against"], let text = reader.text(n, f.path("against")) {
                let against = GateBaseline.parse(text)
                switch against {
                case .variant(let v):
                    if !variantNames.contains(v) {
                        reader.report(.notOneOf(f.path("against"), allowed: variantNames, got: v,
                                                suggestion: Suggest.nearest(v, in: variantNames), at: n.location))
                    }
                    rule.against = against
                case .manifest(let m):
                    rule.against = .manifest(Paths.resolve(m, relativeTo: n.location.file))
                }
                if !rule.isRelative {
                    reader.report(.invalid(f.path("against"),
                                           "\(f.path("against")) needs max_regression or min_change beside it",
                                           at: n.location))
                }
            }
            if let lo = rule.min, let hi = rule.max, lo > hi {
                reader.report(.invalid(path, "\(path).min must be <= \(path).max (got \(fmt(lo)) > \(fmt(hi)))",
                                       at: entry.value.location))
            }
            if ["max", "min", "max_regression", "min_change"].allSatisfy({ f[$0] == nil }) {
                reader.report(.invalid(path, "\(path) must set at least one of max, min, max_regression, min_change",
                                       at: entry.value.location))
            }
            if rule.isRelative, rule.against == nil {
                if variantNames.contains("baseline") {
                    rule.against = .variant("baseline")
                } else {
                    reader.report(.invalid(path, "\(path) compares against a baseline: set against (no variant is named 'baseline')",
                                           at: entry.value.location))
                }
            }
            out[entry.key] = rule
        }
        return out
    }

    private func changeAmount(_ node: SourceNode, _ path: String) -> ChangeAmount? {
        if let x = node.double {
            guard x >= 0, x.isFinite else {
                reader.report(.outOfRange(path, requirement: ">= 0", got: node.scalar!.text, at: node.location))
                return nil
            }
            return .absolute(x)
        }
        if let s = node.string, s.hasSuffix("%"), let p = Double(s.dropLast().trimmingCharacters(in: .whitespaces)),
           p >= 0, p.isFinite {
            return .relative(p / 100)
        }
        reader.report(.wrongType(path, expected: "a number >= 0 or a percentage such as \"2%\"",
                                 got: node.shortDescription, at: node.location))
        return nil
    }

    // MARK: seeds, executor

    private func seeds(_ node: SourceNode) -> [Int] {
        let items = node.scalar != nil ? [node] : (reader.list(node, "seeds") ?? [])
        if node.items?.isEmpty == true {
            reader.report(.invalid("seeds", "seeds must list at least one seed", at: node.location))
        }
        var seeds: [Int] = []
        for (i, item) in items.enumerated() {
            let path = node.scalar != nil ? "seeds" : "seeds[\(i)]"
            guard let s = reader.integer(item, path, .nonNegative) else { continue }
            if seeds.contains(s) {
                reader.report(.invalid(path, "seed \(s) is listed twice", at: item.location))
            } else {
                seeds.append(s)
            }
        }
        return seeds.isEmpty ? Experiment.defaultSeeds : seeds
    }

    private func executor(_ node: SourceNode) -> ExecutorSpec {
        if node.scalar != nil {
            _ = reader.word(node, "executor", allowed: ["local"])
            return .local
        }
        guard let f = reader.fields(node, "executor", keys: ["local", "slurm"]) else { return .local }
        if node.entries!.count != 1 {
            reader.report(.invalid("executor", "executor must have exactly one of local, slurm", at: node.location))
            return .local
        }
        guard node["slurm"] != nil else { return .local }
        var s = SlurmSpec()
        guard let n = f["slurm"] else { return .slurm(s) }
        guard let g = reader.fields(n, f.path("slurm"), keys: ["partition", "account", "time", "qos", "extra_args",
                                                               "retries"]) else { return .slurm(s) }
        if let v = g["partition"] { s.partition = reader.text(v, g.path("partition")) }
        if let v = g["account"] { s.account = reader.text(v, g.path("account")) }
        if let v = g["time"], let t = reader.text(v, g.path("time")) {
            if Self.isSlurmTime(t) {
                s.time = t
            } else {
                reader.report(.wrongType(g.path("time"), expected: "a Slurm time such as \"02:00:00\", \"1-00:00:00\" or \"90\"",
                                         got: v.shortDescription, at: v.location))
            }
        }
        if let v = g["qos"] { s.qos = reader.text(v, g.path("qos")) }
        if let v = g["extra_args"], let items = reader.list(v, g.path("extra_args")) {
            s.extraArgs = items.enumerated().compactMap { reader.text($1, "\(g.path("extra_args"))[\($0)]") }
        }
        reader.integer(g, "retries", &s.retries, .nonNegative)
        return .slurm(s)
    }

    /// Slurm's time formats: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS.
    static func isSlurmTime(_ t: String) -> Bool {
        let parts = t.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count <= 2, !t.isEmpty else { return false }
        if parts.count == 2, !(parts[0].allSatisfy(\.isNumber) && !parts[0].isEmpty) { return false }
        let clock = parts.last!.split(separator: ":", omittingEmptySubsequences: false)
        return clock.count <= 3 && clock.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }
}

/// Paths in experiment files are relative to the file that wrote them.
enum Paths {
    static func resolve(_ path: String, relativeTo file: String) -> String {
        if path.hasPrefix("/") { return normalize(path) }
        let dir = (file as NSString).deletingLastPathComponent
        return normalize(dir.isEmpty ? path : dir + "/" + path)
    }

    /// Removes `.` and resolvable `..` components without touching the file system.
    static func normalize(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts: [Substring] = []
        for c in path.split(separator: "/") {
            if c == "." { continue }
            if c == "..", let last = parts.last, last != ".." {
                parts.removeLast()
                continue
            }
            if c == "..", absolute { continue }
            parts.append(c)
        }
        let joined = parts.joined(separator: "/")
        return absolute ? "/" + joined : (joined.isEmpty ? "." : joined)
    }
}
