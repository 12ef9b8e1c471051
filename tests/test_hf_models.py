"""The text models of the zoo against Hugging Face ``transformers`` (issue 14, item 8).

For each model: a ``transformers`` model built from a tiny config with random weights (never
downloaded) gives its state dict, which the module the torch backend builds from the spec
loads with ``strict=True``, names and shapes as they are; both then compute the same logits
(≤ 1e-5 relative), in torch and, for GPT-2, through ONNX (onnxruntime).  Every weight is
redrawn first, biases and norm scales included, so a parameter read from the wrong place or
in the wrong layout changes the output.
"""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import archlang  # noqa: E402

SPECS = Path(__file__).resolve().parents[1] / "specs"
VOCAB = 256  # of every tiny language model here


def randomised(reference, seed: int = 0):
    """The reference in eval mode with every floating parameter and buffer redrawn."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for value in reference.state_dict().values():
            if value.is_floating_point():
                value.copy_(torch.randn(value.shape, generator=gen) * 0.2)
    return reference.eval()


def loaded(spec: str, model: str, reference):
    """Our module for ``model``, with the reference's state dict loaded strictly."""
    ours = archlang.to_torch(str(SPECS / spec), model, seed=1).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    return ours


def token_ids(shape: tuple, seed: int = 0):
    return torch.randint(0, VOCAB, shape, generator=torch.Generator().manual_seed(seed))


def assert_relative(got, expected, tolerance: float = 1e-5) -> None:
    """Elementwise |got - expected| ≤ tolerance × max |expected| (≤ 1e-5 relative)."""
    assert got.shape == expected.shape
    scale = float(expected.abs().max())
    assert scale > 0
    error = float((got - expected).abs().max())
    assert error <= tolerance * scale, f"max error {error:.3g} against a scale of {scale:.3g}"


def logits(reference, ids):
    with torch.no_grad():
        return reference(ids).logits


# ---- GPT-2 ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gpt2():
    config = transformers.GPT2Config(vocab_size=VOCAB, n_positions=32, n_layer=2, n_head=2, n_embd=32,
                                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    return randomised(transformers.GPT2LMHeadModel(config))


def test_gpt2_loads_the_transformers_state_dict_and_computes_the_same(gpt2):
    ours = loaded("text/gpt2.arch", "GPT2_Tiny", gpt2)
    assert ours.lm_head.weight is ours.transformer.wte.weight  # the tie is one Parameter
    assert tuple(ours.transformer.h[0].attn.c_attn.weight.shape) == (32, 96)  # Conv1D: [in, out]
    ids = token_ids((3, 11))
    with torch.no_grad():
        assert_relative(ours(ids), logits(gpt2, ids))


def test_gpt2_through_onnx_computes_what_transformers_computes(gpt2):
    ort = pytest.importorskip("onnxruntime")
    proto = archlang.to_onnx(str(SPECS / "text/gpt2.arch"), "GPT2_Tiny", weights=gpt2.state_dict())
    run = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for shape in [(1, 5), (2, 13)]:
        ids = token_ids(shape, seed=shape[1])
        (got,) = run.run(None, {proto.graph.input[0].name: ids.numpy()})
        assert_relative(torch.from_numpy(got), logits(gpt2, ids))


# ---- Mamba ---------------------------------------------------------------------------------


def test_mamba_loads_the_transformers_state_dict_and_computes_the_same():
    """HF's slow path (no CUDA kernels on CPU): the sequential selective scan in float32."""
    config = transformers.MambaConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, state_size=8,
                                      expand=2, conv_kernel=4)
    reference = randomised(transformers.MambaForCausalLM(config))
    ours = loaded("text/mamba.arch", "Mamba_Tiny", reference)
    assert ours.lm_head.weight is ours.backbone.embeddings.weight
    ids = token_ids((2, 9))
    assert_relative(ours(ids).detach(), logits(reference, ids))


# ---- Llama 3 -------------------------------------------------------------------------------


LLAMA3_ROPE = {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
               "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}


def test_llama_loads_the_transformers_state_dict_and_computes_the_same():
    """Grouped-query attention (4 query heads, 2 key/value heads), RoPE with llama3 scaling in
    all three frequency bands, SwiGLU, RMSNorm, untied head."""
    config = transformers.LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5,
                                      max_position_embeddings=64, rope_parameters=dict(LLAMA3_ROPE))
    reference = randomised(transformers.LlamaForCausalLM(config))
    ours = loaded("text/llama.arch", "Llama_Tiny", reference)
    assert ours.lm_head.weight is not ours.model.embed_tokens.weight
    ids = token_ids((2, 40))
    with torch.no_grad():
        assert_relative(ours(ids), logits(reference, ids))


def test_llama_3_1_8b_has_its_published_parameter_count():
    """The block's defaults are Llama 3.1 8B's (too big to build in a test; the IR counts it)."""
    summary = archlang.summary(str(SPECS / "text/llama.arch"), "Llama3_2_1B", hidden_size=4096,
                               intermediate_size=14336, num_hidden_layers=32, factor=8.0, tie_word_embeddings=False)
    assert summary.params == 8_030_261_248


# ---- BERT ----------------------------------------------------------------------------------


def test_bert_loads_the_transformers_state_dict_and_computes_the_same():
    """BertModel: the last hidden state and the pooler output (token type 0, no mask)."""
    config = transformers.BertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=64, max_position_embeddings=32, hidden_dropout_prob=0.0,
                                     attention_probs_dropout_prob=0.0)
    reference = randomised(transformers.BertModel(config))
    ours = loaded("text/bert.arch", "BERT_Tiny", reference)
    ids = token_ids((3, 10))
    with torch.no_grad():
        hidden, pooled = ours(ids)
        expected = reference(ids)
    assert_relative(hidden, expected.last_hidden_state)
    assert_relative(pooled, expected.pooler_output)


# ---- T5 ------------------------------------------------------------------------------------


def test_t5_loads_the_transformers_state_dict_and_computes_the_same():
    """T5Model (encoder-decoder): relative position buckets in the exact, logarithmic and
    clamped ranges (8 buckets, max_distance 20, sequences of 23 and 17 tokens), in the
    bidirectional encoder and the causal decoder."""
    config = transformers.T5Config(vocab_size=VOCAB, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                                   relative_attention_num_buckets=8, relative_attention_max_distance=20,
                                   dropout_rate=0.0)
    reference = randomised(transformers.T5Model(config))
    ours = loaded("text/t5.arch", "T5_Tiny", reference)
    assert ours.encoder.embed_tokens.weight is ours.shared.weight is ours.decoder.embed_tokens.weight
    ids, decoder_ids = token_ids((2, 23)), token_ids((2, 17), seed=1)
    with torch.no_grad():
        expected = reference(input_ids=ids, decoder_input_ids=decoder_ids).last_hidden_state
        assert_relative(ours(ids, decoder_ids), expected)
