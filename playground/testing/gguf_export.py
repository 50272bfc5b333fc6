"""Convert a tiny-model folder (safetensors + tokenizer.json) to one GGUF file, offline.

llama.cpp's servers load GGUF only. This writes the same weights (qwen2: q/k/v biases and
NeoX RoPE on both sides, so the tensors go over unchanged) and the same byte-level BPE
tokenizer with the `gguf` package. With an F32 KV cache llama.cpp's logits match
transformers' to about 1e-4; with its default F16 cache, to about 0.05.

A GGUF file has no generation_config. When the folder suppresses tokens (the tiny model's
end tokens, so that a run always yields `max_tokens` tokens), the GGUF gets a large negative
output bias on them instead, and on every token that is not whole, visible text: special
tokens, which llama-cpp-python renders as nothing, and pieces of a UTF-8 character, after
which llama-cpp-python goes on past `max_tokens` until the character is complete
(llama_cpp/llama.py 0.3.36, lines 1417-1427). Under llama.cpp too, then, a run yields
exactly `max_tokens` tokens, each one a non-empty piece of text.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

# Far below any logit of the random model (they spread over about ±15): the suppressed tokens
# get no probability under any sampler setting. Finite, unlike -inf, so no sampler meets inf - inf.
SUPPRESSED_LOGIT_BIAS = -1.0e4
_CONTROL, _NORMAL, _UNUSED = 3, 1, 5  # gguf.TokenType values


def export_gguf(model_dir: Path, out_path: Path) -> Path:
    """Write `model_dir` as an F32 GGUF file at `out_path` and return `out_path`."""
    import gguf

    model_dir, out_path = Path(model_dir), Path(out_path)
    config = _read_json(model_dir / "config.json")
    if config["model_type"] != "qwen2":
        raise ValueError(f"{model_dir}: architecture {config['model_type']!r} is not supported; build the model as qwen2")
    tensors = _load_tensors(model_dir / "model.safetensors")
    tokens, types = _vocabulary(model_dir, vocab_size=tensors["model.embed_tokens.weight"].shape[0])

    writer = gguf.GGUFWriter(out_path, "qwen2")
    writer.add_name(model_dir.name)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    _add_hyperparameters(writer, config)
    _add_tokenizer(writer, model_dir, tokens, types)
    _add_tensors(writer, gguf, config, tensors)
    if _read_json(model_dir / "generation_config.json", default={}).get("suppress_tokens"):
        bias = np.zeros(len(tokens), dtype=np.float32)
        bias[[i for i, (text, kind) in enumerate(zip(tokens, types, strict=True)) if not _whole_text(text, kind)]] = (
            SUPPRESSED_LOGIT_BIAS
        )
        writer.add_tensor("output.bias", bias)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out_path


def _read_json(path: Path, default: dict[str, Any] | None = None) -> dict[str, Any]:
    if default is not None and not path.exists():
        return default
    return json.loads(path.read_text(encoding="utf-8"))


def _load_tensors(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in load_file(path).items()}


def _add_hyperparameters(writer: Any, config: dict[str, Any]) -> None:
    rope = config.get("rope_parameters") or {}
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(config["num_attention_heads"])
    writer.add_head_count_kv(config.get("num_key_value_heads") or config["num_attention_heads"])
    writer.add_rope_freq_base(float(rope.get("rope_theta", config.get("rope_theta", 10000.0))))
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])


def _vocabulary(model_dir: Path, vocab_size: int) -> tuple[list[str], list[int]]:
    """Token texts (byte-level encoded, as in tokenizer.json) and GGUF token types, one per embedding row."""
    tokenizer = _read_json(model_dir / "tokenizer.json")
    by_id = {index: text for text, index in tokenizer["model"]["vocab"].items()}
    by_id |= {added["id"]: added["content"] for added in tokenizer["added_tokens"]}
    special = {added["id"] for added in tokenizer["added_tokens"] if added["special"]}
    # Embedding rows past the tokenizer's vocabulary still need a (never produced) token.
    tokens = [by_id.get(i, f"[PAD{i}]") for i in range(vocab_size)]
    types = [_CONTROL if i in special else _NORMAL if i in by_id else _UNUSED for i in range(vocab_size)]
    return tokens, types


def _add_tokenizer(writer: Any, model_dir: Path, tokens: list[str], types: list[int]) -> None:
    tokenizer = _read_json(model_dir / "tokenizer.json")
    tokenizer_config = _read_json(model_dir / "tokenizer_config.json", default={})
    writer.add_tokenizer_model("gpt2")
    # transformers loads a qwen2 folder with Qwen2Tokenizer, whose split (one digit per piece, ...)
    # replaces tokenizer.json's ByteLevel one; llama.cpp's "qwen2" pre-tokenizer is the same regex.
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in tokenizer["model"]["merges"]])
    ids = {text: index for index, text in enumerate(tokens)}
    writer.add_eos_token_id(ids[tokenizer_config.get("eos_token") or "<|im_end|>"])
    pad = ids.get(tokenizer_config.get("pad_token") or "")
    if pad is not None:
        # The tokenizer has no BOS; without an id llama.cpp would take token 11 for it.
        writer.add_bos_token_id(pad)
        writer.add_pad_token_id(pad)
    writer.add_add_bos_token(False)
    template = model_dir / "chat_template.jinja"
    chat_template = template.read_text(encoding="utf-8") if template.exists() else tokenizer_config.get("chat_template")
    if chat_template:
        writer.add_chat_template(chat_template)


def _add_tensors(writer: Any, gguf: Any, config: dict[str, Any], tensors: dict[str, np.ndarray]) -> None:
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.QWEN2, config["num_hidden_layers"])
    for name, value in tensors.items():
        if name == "lm_head.weight" and config.get("tie_word_embeddings"):
            continue  # llama.cpp reuses token_embd when there is no output.weight
        gguf_name = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise ValueError(f"no GGUF name for tensor {name!r}")
        writer.add_tensor(gguf_name, value)


def _byte_level_decoder() -> dict[str, int]:
    """GPT-2's byte-to-character table, reversed: the character that stands for each byte."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in printable]
    return {chr(b): b for b in printable} | {chr(256 + n): b for n, b in enumerate(others)}


_BYTE_OF = _byte_level_decoder()


def _whole_text(token: str, kind: int) -> bool:
    """True for a normal token whose bytes are complete UTF-8 text."""
    if kind != _NORMAL:
        return False
    try:
        bytes(_BYTE_OF[c] for c in token).decode("utf-8")
    except (KeyError, UnicodeDecodeError):
        return False
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("out_path", type=Path)
    args = parser.parse_args(argv)
    print(export_gguf(args.model_dir, args.out_path))


if __name__ == "__main__":
    main()
