// The default compute dtype: every (device, CPU features, architecture) case decided from plain
// facts, so each is checked here without that hardware.
#include "qbench/model/compute_dtype.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace qbench::model {
namespace {

DeviceFacts cpu(bool avx512_bf16, bool amx_bf16 = false) {
    DeviceFacts d;
    d.cpu.avx512_bf16 = avx512_bf16;
    d.cpu.amx_bf16 = amx_bf16;
    return d;
}

DeviceFacts cuda(int major, int minor) {
    DeviceFacts d;
    d.cuda = true;
    d.sm_major = major;
    d.sm_minor = minor;
    return d;
}

constexpr const char* kLlama = "LlamaForCausalLM";
constexpr const char* kGemma3 = "Gemma3ForCausalLM";

TEST(ComputeDtype, CpuFeaturesFromTheFlagsLine) {
    const auto f = cpu_features_from_cpuinfo(
        "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n"
        "processor\t: 1\nflags\t\t: fpu sse2\n");
    EXPECT_TRUE(f.avx512_bf16);
    EXPECT_FALSE(f.amx_bf16);
    const auto amx = cpu_features_from_cpuinfo("flags : avx512f amx_bf16 amx_tile amx_int8\n");
    EXPECT_TRUE(amx.amx_bf16);
    EXPECT_FALSE(amx.avx512_bf16);
    // whole words only, and nothing without a flags line (aarch64 says "Features")
    EXPECT_FALSE(cpu_features_from_cpuinfo("flags : avx512_bf16x xavx512_bf16\n").avx512_bf16);
    EXPECT_FALSE(cpu_features_from_cpuinfo("Features : fp asimd bf16 i8mm\n").avx512_bf16);
    EXPECT_FALSE(cpu_features_from_cpuinfo("").amx_bf16);
}

TEST(ComputeDtype, OverflowingFamiliesByArchitectureOrModelType) {
    EXPECT_EQ(float16_overflowing_family(kGemma3, "gemma3_text"), "gemma3");
    EXPECT_EQ(float16_overflowing_family("", "gemma3"), "gemma3");
    EXPECT_EQ(float16_overflowing_family("Gemma2ForCausalLM", ""), "gemma2");
    EXPECT_EQ(float16_overflowing_family("GemmaForCausalLM", "gemma"), "");
    EXPECT_EQ(float16_overflowing_family(kLlama, "llama"), "");
    EXPECT_EQ(float16_overflowing_family("Qwen3ForCausalLM", "qwen3"), "");
}

TEST(ComputeDtype, CpuDefaultFollowsBf16DotProducts) {
    auto c = default_compute_dtype(cpu(true), kLlama, "llama");
    EXPECT_EQ(c.dtype, "bfloat16");
    EXPECT_EQ(c.reason, "default for cpu with avx512_bf16");
    c = default_compute_dtype(cpu(false, true), kLlama, "llama");
    EXPECT_EQ(c.dtype, "bfloat16");
    EXPECT_EQ(c.reason, "default for cpu with amx_bf16");
    c = default_compute_dtype(cpu(false), kLlama, "llama");
    EXPECT_EQ(c.dtype, "float32");
    EXPECT_THAT(c.reason, ::testing::StartsWith("default for cpu without avx512_bf16 or amx_bf16"));
    // Gemma: never float16, and the CPU defaults are not float16 anyway
    EXPECT_EQ(default_compute_dtype(cpu(true), kGemma3, "gemma3_text").dtype, "bfloat16");
    EXPECT_EQ(default_compute_dtype(cpu(false), kGemma3, "gemma3_text").dtype, "float32");
}

TEST(ComputeDtype, CudaDefaultIsBfloat16FromSm80AndNeverFloat16ForGemma) {
    auto c = default_compute_dtype(cuda(9, 0), kLlama, "llama");
    EXPECT_EQ(c.dtype, "bfloat16");
    EXPECT_EQ(c.reason, "default for cuda sm90");
    EXPECT_EQ(default_compute_dtype(cuda(8, 0), kGemma3, "gemma3_text").dtype, "bfloat16");
    c = default_compute_dtype(cuda(7, 5), kLlama, "llama");
    EXPECT_EQ(c.dtype, "float16");
    EXPECT_EQ(c.reason, "default for cuda sm75 (no fast bfloat16 before sm80)");
    c = default_compute_dtype(cuda(7, 5), kGemma3, "gemma3_text");
    EXPECT_EQ(c.dtype, "float32");
    EXPECT_EQ(c.reason, "gemma3: float16 overflows, and cuda sm75 has no fast bfloat16");
    EXPECT_EQ(default_compute_dtype(cuda(6, 1), "Gemma2ForCausalLM", "gemma2").dtype, "float32");
}

TEST(ComputeDtype, AnExplicitDtypeAlwaysWins) {
    for (const char* d : {"float32", "float16", "bfloat16"}) {
        for (const auto& dev : {cpu(true), cpu(false), cuda(9, 0), cuda(7, 0)}) {
            const auto c = choose_compute_dtype(d, dev, kGemma3, "gemma3_text");  // float16: a warning only
            EXPECT_EQ(c.dtype, d);
            EXPECT_EQ(c.reason, "requested");
        }
    }
    EXPECT_EQ(choose_compute_dtype("", cpu(true), kLlama, "llama").reason, "default for cpu with avx512_bf16");
}

TEST(ComputeDtype, Float16OnGemmaWarns) {
    ::testing::internal::CaptureStderr();
    choose_compute_dtype("float16", cpu(true), kGemma3, "gemma3_text");
    const std::string gemma = ::testing::internal::GetCapturedStderr();
    EXPECT_THAT(gemma, ::testing::HasSubstr("gemma3 in float16: its activations overflow float16"));
    ::testing::internal::CaptureStderr();
    choose_compute_dtype("float16", cpu(true), kLlama, "llama");
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace qbench::model
