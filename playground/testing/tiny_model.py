"""Build a tiny random-weight chat model and tokenizer offline.

The result is an ordinary Hugging Face model folder: it loads through the real
`AutoTokenizer` / `AutoModelForCausalLM` path, and `transformers serve` can serve it.
Random weights produce gibberish, which is all the tests and benchmarks need.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
# A byte-level BPE starts from the 256 byte symbols and the special tokens.
MIN_VOCAB_SIZE = 256 + len(SPECIAL_TOKENS)
_WORDS = (
    "the a model token stream answer moon bright when fast slow side pane latency "
    "measure first last time prompt reply panel local cloud server 明月 几时 有 把酒 问 青天 "
    "hello world think reason because therefore 1 2 3 4 5 6 7 8 9 0 , . ? !"
).split()


@dataclass(frozen=True)
class TinyModelSpec:
    """Shape of the random model; the defaults give ~100 k parameters."""

    architecture: str = "qwen2"
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int = 2
    intermediate_size: int = 128
    vocab_size: int = 512
    suppress_eos: bool = True
    init_std: float = 0.5
    seed: int = 0


def _training_text(seed: int, lines: int = 400) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 16))) for _ in range(lines)]


def build_tokenizer(spec: TinyModelSpec):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=spec.vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,  # its progress bars go to stdout, where callers expect only the path
    )
    tokenizer.train_from_iterator(_training_text(spec.seed), trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
    )
    wrapped.chat_template = CHATML_TEMPLATE
    return wrapped


def build_tiny_model(output_dir: str | Path, spec: TinyModelSpec | None = None) -> Path:
    """Write a random-weight model + tokenizer folder and return its path.

    With `suppress_eos` the end tokens are suppressed in `generation_config`, so generation
    always runs to `max_tokens`: tests and benchmarks then know how many tokens to expect.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, GenerationConfig

    spec = spec or TinyModelSpec()
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(spec)
    config = AutoConfig.for_model(
        spec.architecture,
        vocab_size=len(tokenizer),
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_layers,
        num_attention_heads=spec.num_heads,
        num_key_value_heads=spec.num_kv_heads,
        max_position_embeddings=4096,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
        initializer_range=spec.init_std,
    )
    torch.manual_seed(spec.seed)
    model = AutoModelForCausalLM.from_config(config)
    end_ids = [tokenizer.eos_token_id, tokenizer.pad_token_id]
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        suppress_tokens=end_ids if spec.suppress_eos else None,
    )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
