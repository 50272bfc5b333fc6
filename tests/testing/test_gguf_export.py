"""The GGUF export of the tiny model: same tokens and logits under llama.cpp as under transformers."""

from pathlib import Path

import numpy as np
import pytest

from playground.testing.gguf_export import SUPPRESSED_LOGIT_BIAS, export_gguf


@pytest.fixture(scope="module")
def gguf_path(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_gguf(tiny_model_dir, tmp_path_factory.mktemp("gguf") / "tiny.gguf")


def _llama(path: Path, **options):
    from llama_cpp import Llama

    return Llama(model_path=str(path), n_ctx=256, n_threads=1, n_threads_batch=1, verbose=False, **options)


@pytest.mark.parametrize(
    "text",
    ["明月几时有 hello world", "the 123 moon, 2 4!", "<|im_start|>user\nhi  there\t?<|im_end|>\n<|im_start|>assistant\n"],
)
def test_tokens_match_transformers(gguf_path, tiny_model_dir, text):
    from transformers import AutoTokenizer

    expected = AutoTokenizer.from_pretrained(tiny_model_dir).encode(text)
    assert _llama(gguf_path, vocab_only=True).tokenize(text.encode(), add_bos=True, special=True) == expected


def test_logits_match_transformers(gguf_path, tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ids = AutoTokenizer.from_pretrained(tiny_model_dir).encode("明月几时有 the model answer")
    with torch.no_grad():
        expected = AutoModelForCausalLM.from_pretrained(tiny_model_dir)(torch.tensor([ids])).logits[0].numpy()
    # An F32 KV cache: llama.cpp's default F16 one alone moves these logits by up to ~0.05.
    llm = _llama(gguf_path, logits_all=True, type_k=0, type_v=0)
    llm.eval(ids)
    logits = np.array(llm.scores[: len(ids)])
    suppressed = logits[-1] < SUPPRESSED_LOGIT_BIAS / 2
    assert 0 < suppressed.sum() < len(suppressed) / 2
    np.testing.assert_allclose(logits[:, ~suppressed], expected[:, ~suppressed], atol=1e-3)


def test_every_run_yields_max_tokens_of_visible_text(gguf_path):
    llm = _llama(gguf_path, chat_format="chatml")
    messages = [{"role": "user", "content": "明月几时有"}]
    # The widest sampling there is: nothing but the exported bias keeps end tokens and byte pieces out.
    widest = {"temperature": 2.0, "top_k": 0, "top_p": 1.0, "min_p": 0.0}
    for seed in range(5):
        chunks = llm.create_chat_completion(messages, max_tokens=30, seed=seed, stream=True, **widest)
        texts = [c["choices"][0]["delta"]["content"] for c in chunks if "content" in c["choices"][0]["delta"]]
        assert len(texts) == 30 and all(texts)
