// QuantScheme parsing: supported options, per-module resolution, and errors that name the key.
#include "qbench/quant/scheme.hpp"

#include <gtest/gtest.h>

#include "qbench/util/error.hpp"

namespace qbench::quant {
namespace {

using nlohmann::json;

std::string error_of(const json& qc) {
    try {
        scheme_from_config(qc, "config.json");
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kBadInput);
        return e.what();
    }
    return "";
}

TEST(QuantScheme, UnsupportedOptionsNameTheKey) {
    EXPECT_EQ(error_of({{"quant_method", "gptq"}, {"bits", 5}}),
              "config.json: quantization_config.bits: GPTQ bits must be 2, 3, 4 or 8, got 5");
    EXPECT_EQ(error_of({{"quant_method", "gptq"}, {"bits", 4}, {"checkpoint_format", "marlin"}}),
              "config.json: quantization_config.checkpoint_format: 'marlin' is not supported (supported: gptq, gptq_v2)");
    EXPECT_EQ(error_of({{"quant_method", "awq"}, {"bits", 4}, {"version", "gemv_fast"}}),
              "config.json: quantization_config.version: 'gemv_fast' is not supported (supported: gemm, gemv)");
    EXPECT_EQ(error_of({{"quant_method", "bitsandbytes"}}),
              "config.json: quantization_config.quant_method: 'bitsandbytes' is not supported (gptq, awq, "
              "compressed-tensors, fp8)");
    EXPECT_EQ(error_of({{"quant_method", "fp8"}, {"activation_scheme", "static"}, {"weight_block_size", {128, 128}}}),
              "config.json: quantization_config.activation_scheme: block-wise FP8 needs dynamic activations");
    const json ct = {{"quant_method", "compressed-tensors"},
                     {"format", "pack-quantized"},
                     {"config_groups",
                      {{"group_0",
                        {{"targets", {"Linear"}},
                         {"weights", {{"num_bits", 3}, {"type", "int"}, {"strategy", "channel"}}}}}}}};
    EXPECT_NE(error_of(ct).find("quantization_config.config_groups.group_0.weights.num_bits: pack-quantized 3 bits"),
              std::string::npos)
        << error_of(ct);
    json sparse = ct;
    sparse["format"] = "sparse-24-bitmask";
    EXPECT_NE(error_of(sparse).find("quantization_config.format: 'sparse-24-bitmask' is not supported"),
              std::string::npos);
}

TEST(QuantScheme, ModulesResolveThroughIgnoreListsAndOverrides) {
    const auto gptq = scheme_from_config({{"quant_method", "gptq"},
                                          {"bits", 4},
                                          {"group_size", 128},
                                          {"modules_to_not_convert", {"lm_head"}},
                                          {"dynamic", {{"-:.*down_proj", json::object()},
                                                       {"+:.*layers\\.1\\..*", {{"bits", 8}, {"group_size", 32}}}}}},
                                         "c");
    EXPECT_FALSE(gptq.for_module("lm_head"));
    EXPECT_FALSE(gptq.for_module("model.layers.0.mlp.down_proj"));
    EXPECT_EQ(gptq.for_module("model.layers.0.mlp.up_proj")->bits, 4);
    const auto over = gptq.for_module("model.layers.1.self_attn.q_proj");
    EXPECT_EQ(over->bits, 8);
    EXPECT_EQ(over->group_size, 32);
    const auto ct = scheme_from_config(
        {{"quant_method", "compressed-tensors"},
         {"format", "float-quantized"},
         {"ignore", {"lm_head", "re:.*layers\\.0\\.mlp.*"}},
         {"config_groups",
          {{"group_0",
            {{"targets", {"re:.*self_attn.*"}},
             {"weights", {{"num_bits", 8}, {"type", "float"}, {"strategy", "channel"}}},
             {"input_activations", {{"num_bits", 8}, {"type", "float"}, {"strategy", "token"}, {"dynamic", true}}}}}}}},
        "c");
    EXPECT_FALSE(ct.for_module("model.layers.0.mlp.up_proj"));
    EXPECT_FALSE(ct.for_module("model.layers.1.mlp.up_proj"));  // no target matches
    EXPECT_EQ(ct.for_module("model.layers.1.self_attn.o_proj")->act, ActQuant::kFp8Token);
    EXPECT_EQ(ct.describe(), "compressed-tensors fp8 e4m3 per-channel (float-quantized), activations fp8 dynamic "
                             "per-token, 2 ignore patterns");
}

TEST(QuantScheme, AutoAwqQuantConfigWithoutMethodIsAwq) {
    const auto s = scheme_from_config({{"zero_point", true}, {"q_group_size", 64}, {"w_bit", 4}, {"version", "GEMM"}},
                                      "quant_config.json");
    EXPECT_EQ(s.method, "awq");
    EXPECT_EQ(s.format, "gemm");
    EXPECT_EQ(s.layer.group_size, 64);
}

}  // namespace
}  // namespace qbench::quant
