#!/usr/bin/env python3
"""Writes schemas/experiment.schema.json, the JSON Schema (draft 2020-12) of runner's experiment files.

The schema is generated rather than written by hand because override sections (`matrix`,
`ablate`, `variants`) take dotted keys (`model.attention`) whose values must follow the schema of
the key they name: the generator walks the section schemas and emits one entry per dotted key.

    python3 schemas/generate.py            # rewrite the schema
    python3 schemas/generate.py --check    # exit 1 if the committed schema is out of date

What the schema cannot say (the loader still checks it): split ratios summing to 1, an `extends`
cycle or missing file, missing data directories, duplicate variant names across `ablate` and
`variants`, gate metrics not listed in `evaluate.metrics`, `against` naming an unknown variant,
cosine warm-up longer than training, values of `matrix.exclude` that are not on their axis,
YAML duplicate keys and alias bombs (the YAML reader, not the schema, sees those).
"""
import json
import os
import sys

METRICS = ["rmse", "rmse.mua", "rmse.musp", "ssim", "ssim.mua", "ssim.musp",
           "psnr", "psnr.mua", "psnr.musp", "mae", "mae.mua", "mae.musp"]
VALIDATION_METRICS = ["val.loss"] + ["val." + m for m in METRICS]
STRATIFY_KEYS = ["tumour_count", "tumour_volume", "healthy_mua", "healthy_musp", "tissue_coverage"]
BINNED_KEYS = STRATIFY_KEYS[1:]
FIXED_KEYS = {"name", "description", "extends", "matrix", "ablate", "variants", "executor"}

DEFS = {}


def ref(name):
    return {"$ref": "#/$defs/" + name}


def define(name, schema):
    DEFS[name] = schema
    return ref(name)


def num(description=None, default=None, **bounds):
    s = {"type": "number", **bounds}
    if description:
        s["description"] = description
    if default is not None:
        s["default"] = default
    return s


def integer(description=None, default=None, **bounds):
    s = num(description, default, **bounds)
    s["type"] = "integer"
    return s


def boolean(description, default):
    return {"type": "boolean", "description": description, "default": default}


def enum(values, description=None, default=None):
    s = {"enum": list(values)}
    if description:
        s["description"] = description
    if default is not None:
        s["default"] = default
    return s


def obj(properties, description=None, required=(), **extra):
    s = {"type": "object", "properties": properties, "additionalProperties": False, **extra}
    if required:
        s["required"] = list(required)
    if description:
        s["description"] = description
    return s


def nullable(schema):
    return {"anyOf": [schema, {"type": "null"}]}


POSITIVE = dict(exclusiveMinimum=0)
NON_NEGATIVE = dict(minimum=0)
UNIT_OPEN = dict(minimum=0, exclusiveMaximum=1)
OPEN_UNIT = dict(exclusiveMinimum=0, exclusiveMaximum=1)


def interval(description, default, lo=0, hi=None):
    item = {"type": "number", "minimum": lo}
    if hi is not None:
        item["maximum"] = hi
    return {"type": "array", "items": item, "minItems": 2, "maxItems": 2,
            "description": description + " [lo, hi]", "default": default}


# ---------------------------------------------------------------- sections

metric = define("metric", enum(METRICS, "A test metric: over both channels, or per channel (.mua, .musp)."))
validation_metric = define("validation_metric", enum(VALIDATION_METRICS, "A validation metric watched during training."))

synthetic = obj({
    "count": integer("Phantoms generated (before cleaning).", 1500, minimum=1),
    "size": integer("Volume edge in voxels (1 mm each); a multiple of 32.", 64, minimum=32, multipleOf=32),
    "seed": integer("Generator seed.", 7, minimum=0),
}, "The synthetic phantom generator of DESIGN.md.")
source = define("source", {
    "description": "Where phantoms come from: exactly one of synthetic, hdf5.",
    "oneOf": [
        {"const": "synthetic"},
        obj({"synthetic": nullable(synthetic)}, required=["synthetic"]),
        obj({"hdf5": obj({"dir": {"type": "string", "minLength": 1,
                                   "description": "Directory of phantom_<k>/phantom_<k>_scan.h5 files, relative to this file."}},
                         required=["dir"])}, required=["hdf5"]),
    ]})
clean = define("clean", obj({
    "tissue_coverage": interval("Allowed fraction of tissue voxels", [0.15, 0.60], 0, 1),
    "mua_range": interval("Allowed μa (mm⁻¹) of tissue voxels", [0.0, 0.05]),
    "musp_range": interval("Allowed μs′ (mm⁻¹) of tissue voxels", [0.0, 4.0]),
    "drop_duplicates": boolean("Drop phantoms whose content equals an earlier one's.", True),
    "require_finite": boolean("Reject NaN or infinite values.", True),
    "check_labels": boolean("Reject labels inconsistent with values.", True),
}, "Per-phantom acceptance rules."))
split = define("split", obj({
    "ratios": obj({
        "train": num("Fraction for training.", 0.8, exclusiveMinimum=0, maximum=1),
        "val": num("Fraction for validation.", 0.1, minimum=0, maximum=1),
        "test": num("Fraction for testing.", 0.1, minimum=0, maximum=1),
    }, "Fractions of the cleaned phantoms; must sum to 1."),
    "stratify_by": {"description": "Keys to stratify the split by.",
                    "default": ["tumour_count", "tumour_volume", "healthy_mua"],
                    "anyOf": [{"type": "array", "items": enum(STRATIFY_KEYS)}, enum(STRATIFY_KEYS), {"type": "null"}]},
    "bins": {"description": "Quantile bins per binned key (or one number for all).",
             "anyOf": [integer(minimum=1), obj({k: integer(minimum=1) for k in BINNED_KEYS})]},
    "seed": integer("Split seed.", 28, minimum=0),
}, "Deterministic, stratified train/val/test split."))
data = define("data", obj({"source": source, "clean": clean, "split": split}, "Phantoms: source, cleaning, split."))

attention = define("attention", {
    "description": "Spatial attention in the encoder: none, spatial (every layer) or one flag per encoder layer.",
    "default": "none",
    "anyOf": [enum(["none", "spatial"]),
              {"type": "array", "items": {"type": "boolean"}, "minItems": 4, "maxItems": 4},
              obj({"layers": {"type": "array", "items": {"type": "boolean"}, "minItems": 4, "maxItems": 4}},
                  required=["layers"])]})
dropout = define("dropout", {
    "description": "Dropout: a rate, or {kind, rate}.",
    "anyOf": [num(**UNIT_OPEN),
              obj({"kind": enum(["element", "spatial"], "element: single values; spatial: whole feature maps.", "element"),
                   "rate": num("In [0, 1).", 0.05, **UNIT_OPEN)})]})
model = define("model", obj({
    "base_channels": integer("Channels of the first encoder layer.", 16, minimum=1),
    "latent_dim": integer("Size of the latent vector.", 256, minimum=1),
    "residual_blocks": integer("Residual blocks per layer.", 1, minimum=1, maximum=3),
    "attention": attention,
    "dropout": dropout,
}, "The Stage 1 autoencoder."))

loss = define("loss", obj({
    "terms": obj({"rmse": num("Weight of RMSE.", 1.0, **NON_NEGATIVE),
                  "ssim": num("Weight of (1 − SSIM).", 0.0, **NON_NEGATIVE)},
                 "Loss terms and their weights; a term not listed has weight 0."),
    "channel_weights": obj({"mua": num("Weight of the μa channel.", 1.0, **NON_NEGATIVE),
                            "musp": num("Weight of the μs′ channel.", 1.0, **NON_NEGATIVE)}),
    "ssim": obj({"window": integer("Gaussian window (odd).", 11, minimum=3, **{"not": {"multipleOf": 2}}),
                 "sigma": num("Gaussian sigma.", 1.5, **POSITIVE),
                 "data_range": num("Data range of SSIM.", 1.0, **POSITIVE)}),
}, "Training loss."))

weight_decay = define("weight_decay", {
    "description": "A constant, or scheduled over training {from, to, shape}.",
    "default": 1.0e-3,
    "anyOf": [num(**NON_NEGATIVE),
              obj({"from": num(**NON_NEGATIVE), "to": num(**NON_NEGATIVE),
                   "shape": enum(["linear", "cosine"], default="linear")}, required=["from", "to"])]})
optimizer = define("optimizer", obj({
    "kind": enum(["adamw", "adam", "sgd"], default="adamw"),
    "lr": num("Learning rate.", 5.0e-5, **POSITIVE),
    "betas": {"type": "array", "items": num(**UNIT_OPEN), "minItems": 2, "maxItems": 2, "default": [0.9, 0.98]},
    "eps": num(default=1.0e-8, **POSITIVE),
    "momentum": num("SGD momentum.", 0.9, **UNIT_OPEN),
    "nesterov": boolean("SGD Nesterov momentum.", False),
    "weight_decay": weight_decay,
    "grad_clip": nullable(num("Clip the global gradient norm to this.", **POSITIVE)),
}, "Optimizer."))

SCHEDULE_KEYS = {
    "constant": ["kind"],
    "plateau": ["kind", "patience", "factor", "min_lr", "threshold", "cooldown", "metric"],
    "phases": ["kind", "phases"],
    "onecycle": ["kind", "max_lr", "pct_start", "div_factor", "final_div_factor", "anneal"],
    "cosine": ["kind", "warmup_epochs", "warmup_start_factor", "min_lr"],
}
schedule_props = {
    "kind": enum(list(SCHEDULE_KEYS), "Schedule kind.", "plateau"),
    "patience": integer("plateau: epochs without improvement before reducing.", 3, minimum=0),
    "factor": num("plateau: LR multiplier.", 0.6, **OPEN_UNIT),
    "min_lr": num("plateau, cosine: lowest LR.", 1.0e-7, **NON_NEGATIVE),
    "threshold": num("plateau: relative improvement that counts.", 1.0e-4, **NON_NEGATIVE),
    "cooldown": integer("plateau: epochs to wait after a reduction.", 0, minimum=0),
    "metric": validation_metric,
    "phases": {"type": "array", "minItems": 1, "description": "phases: consecutive fixed-LR phases.",
               "items": obj({"epochs": integer(minimum=1), "lr": num(**POSITIVE)}, required=["epochs", "lr"])},
    "max_lr": num("onecycle: peak LR.", 1.0e-3, **POSITIVE),
    "pct_start": num("onecycle: fraction of steps rising.", 0.3, **OPEN_UNIT),
    "div_factor": num("onecycle: initial LR = max_lr / div_factor.", 25, minimum=1),
    "final_div_factor": num("onecycle: final LR = initial / final_div_factor.", 1.0e4, minimum=1),
    "anneal": enum(["cosine", "linear"], "onecycle: annealing shape.", "cosine"),
    "warmup_epochs": integer("cosine: linear warm-up epochs.", 5, minimum=0),
    "warmup_start_factor": num("cosine: warm-up starts at lr × this.", 0.1, exclusiveMinimum=0, maximum=1),
}
schedule_rules = [{"if": {"not": {"required": ["kind"]}},
                   "then": {"propertyNames": enum(SCHEDULE_KEYS["plateau"])}}]
for kind, keys in SCHEDULE_KEYS.items():
    then = {"propertyNames": enum(keys)}
    if kind == "phases":
        then["required"] = ["phases"]
    schedule_rules.append({"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]}, "then": then})
schedule = define("schedule", {
    "description": "Learning-rate schedule: a kind name, or {kind, …} with that kind's keys.",
    "anyOf": [enum(["constant", "plateau", "onecycle", "cosine"]),
              dict(obj(schedule_props), allOf=schedule_rules)]})

early_stopping = define("early_stopping", {
    "description": "Stop when the metric has not improved for `patience` epochs; false turns it off.",
    "anyOf": [{"type": "boolean"}, {"type": "null"},
              obj({"enabled": boolean("On or off.", True),
                   "patience": integer("Epochs without improvement.", 15, minimum=1),
                   "metric": validation_metric,
                   "min_delta": num("Smallest change that counts.", 0, **NON_NEGATIVE)})]})
augment_names = ["flip", "rot90"]
training = define("training", obj({
    "epochs": integer("Epochs.", 50, minimum=1),
    "batch_size": integer("Batch size.", 64, minimum=1),
    "accumulate": integer("Gradient accumulation steps.", 1, minimum=1),
    "early_stopping": early_stopping,
    "precision": enum(["fp32", "bf16"], "fp32, or bf16 mixed precision.", "fp32"),
    "augment": {"description": "Augmentations of training volumes.", "default": ["flip"],
                "anyOf": [{"type": "array", "items": enum(augment_names)}, enum(augment_names + ["none"]),
                          {"type": "null"}]},
    "gradient_checkpointing": boolean("Recompute activations in the backward pass.", False),
    "standardize_targets": boolean("Per-channel standardisation fitted on the train part.", False),
    "ema": nullable(num("Exponential moving average decay of the weights.", **OPEN_UNIT)),
    "deterministic": boolean("Deterministic kernels and data order.", True),
}, "Training loop."))

evaluate = define("evaluate", obj({
    "split": enum(["test", "val", "train"], "Part evaluated.", "test"),
    "metrics": {"description": "Metrics computed.",
                "default": ["rmse", "rmse.mua", "rmse.musp", "ssim", "ssim.mua", "ssim.musp", "psnr"],
                "anyOf": [{"type": "array", "items": metric, "minItems": 1}, metric]},
    "data_range": num("Data range for PSNR.", 1.0, **POSITIVE),
    "checkpoint": enum(["best", "last"], "Checkpoint evaluated.", "best"),
}, "Evaluation."))

gate_rule = define("gate_rule", obj({
    "max": num("Highest allowed value (mean over seeds)."),
    "min": num("Lowest allowed value (mean over seeds)."),
    "max_regression": {"description": "How much worse than the baseline: a number or a percentage like \"2%\".",
                       "anyOf": [num(**NON_NEGATIVE),
                                 {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?\\s*%$"}]},
    "min_change": num("Least change (value − baseline) required."),
    "against": {"type": "string", "minLength": 1,
                "description": "A variant name (default baseline) or a manifest .json path."},
}, "A gate on one metric.", minProperties=1))
gate = define("gate", {"type": "object", "description": "Regression gates, metric → rule. Not part of any content key.",
                       "propertyNames": metric, "additionalProperties": gate_rule})

seeds = define("seeds", {"description": "Replicates of every variant.", "default": [1337],
                         "anyOf": [integer(minimum=0),
                                   {"type": "array", "items": integer(minimum=0), "minItems": 1, "uniqueItems": True}]})

slurm = obj({"partition": {"type": "string"}, "account": {"type": "string"},
             "time": {"type": "string", "pattern": "^([0-9]+-)?[0-9]+(:[0-9]+){0,2}$"},
             "qos": {"type": "string"}, "extra_args": {"type": "array", "items": {"type": "string"}},
             "retries": integer(default=0, minimum=0)})
executor = define("executor", {"description": "Where steps run: local (default) or {slurm: {…}}.",
                               "anyOf": [{"const": "local"}, obj({"local": {"type": "null"}}, required=["local"]),
                                         obj({"slurm": nullable(slurm)}, required=["slurm"])]})

SECTIONS = {"data": data, "model": model, "loss": loss, "optimizer": optimizer, "schedule": schedule,
            "training": training, "evaluate": evaluate, "gate": gate, "seeds": seeds}


# ---------------------------------------------------------------- dotted keys for overrides

def resolve(schema):
    while "$ref" in schema:
        schema = DEFS[schema["$ref"].split("/")[-1]]
    return schema


def dotted(schema, prefix, out):
    """Every dotted key under `schema`, with the schema of its value."""
    s = resolve(schema)
    for key, sub in s.get("properties", {}).items():
        path = prefix + key
        out.setdefault(path, sub)
        dotted(sub, path + ".", out)
    for alt in s.get("anyOf", []) + s.get("oneOf", []):
        dotted(alt, prefix, out)


override_paths = {}
for name, section in SECTIONS.items():
    override_paths[name] = section
    if name != "gate":
        dotted(section, name + ".", override_paths)
for m in METRICS:
    override_paths["gate." + m] = gate_rule
    for k, v in resolve(gate_rule)["properties"].items():
        override_paths["gate." + m + "." + k] = v
override_paths = {k: v for k, v in sorted(override_paths.items()) if k.split(".")[0] not in FIXED_KEYS}

variant_name = {"type": "string", "pattern": "^[A-Za-z0-9._=,-]+$"}
overrides = define("overrides", {
    "type": "object", "description": "Dotted keys (model.attention) → values, merged into the experiment.",
    "propertyNames": enum(list(override_paths)), "properties": override_paths})
matrix = define("matrix", {
    "type": "object", "description": "Dotted key → list of values; every combination is a variant.",
    "propertyNames": enum(["exclude"] + list(override_paths)), "minProperties": 1,
    "properties": dict({"exclude": {"type": "array", "description": "Combinations to skip (partial).",
                                    "items": {"type": "object", "minProperties": 1,
                                              "propertyNames": enum(list(override_paths))}}},
                       **{k: {"type": "array", "minItems": 1, "items": v} for k, v in override_paths.items()})})

schema = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://example.invalid/runner/experiment.schema.json",
    "title": "runner experiment",
    "description": "An experiment file of runner (docs/spec.md). Generated by schemas/generate.py.",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": "^[A-Za-z0-9._-]+$", "description": "Experiment name (store key)."},
        "description": {"type": "string"},
        "extends": {"type": "string", "minLength": 1, "description": "A base file, relative to this one."},
        **SECTIONS,
        "executor": executor,
        "matrix": matrix,
        "ablate": {"type": "object", "description": "One factor at a time: baseline + one variant per entry.",
                   "propertyNames": dict(variant_name, **{"not": {"const": "baseline"}}),
                   "additionalProperties": dict(ref("overrides"), minProperties=1)},
        "variants": {"type": "object", "description": "Named sets of overrides.",
                     "propertyNames": variant_name, "additionalProperties": overrides},
    },
    "if": {"not": {"required": ["extends"]}},
    "then": {"required": ["name"]},
    "not": {"anyOf": [{"required": ["matrix", "ablate"]}, {"required": ["matrix", "variants"]}]},
    "$defs": DEFS,
}


def main():
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "experiment.schema.json")
    text = json.dumps(schema, indent=1, ensure_ascii=False) + "\n"
    if "--check" in sys.argv:
        with open(target, encoding="utf-8") as f:
            if f.read() != text:
                print(f"{target} is out of date: run python3 schemas/generate.py", file=sys.stderr)
                sys.exit(1)
        return
    with open(target, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {target} ({len(text)} bytes, {len(override_paths)} dotted keys)")


if __name__ == "__main__":
    main()
