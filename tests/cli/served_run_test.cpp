// `qbench run` with a served variant next to a local baseline: the scripted server
// (tests/serve/fake_openai_server.py) gives log-probs that depend only on the token id, so the
// served perplexity, the KLD lower bound's inputs, the task and the load test are checked
// against values computed here from the same windows.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/run_qbench.hpp"
#include "qbench/eval/perplexity.hpp"
#include "qbench/eval/perplexity_input.hpp"
#include "qbench/eval/served_model.hpp"
#include "qbench/tokenizer/tokenizer.hpp"
#include "qbench/util/files.hpp"
#include "serve/fake_server.hpp"

namespace qbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_cli::run_qbench;

const fs::path kSource = QBENCH_SOURCE_DIR;

// The scripted server's log-prob of prompt token t (fake_openai_server.py's token_logprob).
double scripted_logprob(std::int64_t t) {
    return -(1.0 + static_cast<double>(t % 7) / 10.0);
}

std::string config(const std::string& url, const fs::path& out, const std::string& extra_served = "") {
    const fs::path model = kSource / "models" / "qbench-tiny";
    return "name: served\noutput_dir: " + out.string() + "\ndtype: float32\nseed: 7\nvariants:\n"
           "  - {name: local, model: " + model.string() + "}\n"
           "  - name: served\n"
           "    server: {url: '" + url + "', model: fake, concurrency: 2" + extra_served + "}\n"
           "    tokenizer: " + model.string() + "\n"
           "perplexity:\n  data: " + (kSource / "datasets" / "tinyworld" / "test.txt").string() +
           "\n  protocols: [sliding]\n  max_length: 64\n  stride: 32\n  limit: 4\n"
           "tasks: {names: [tinyworld_mc], limit: 6}\n"
           "throughput:\n  batch_sizes: [1]\n  context: 16\n  decode_steps: 4\n  prefill_lengths: [32]\n"
           "  warmup: 1\n  repetitions: 2\n  prompts: " + (kSource / "datasets" / "tinyworld" / "prompts.jsonl").string() +
           "\n  arrival: poisson\n  rate_per_s: 50\n  max_new_tokens: 6\n  requests: 5\n"
           "cost: {on_demand_usd_per_hour: 1.0}\n";
}

TEST(ServedRun, ALocalBaselineAndAServedVariantInOneRun) {
    testing_serve::FakeServer server({"--model", "fake", "--ttft-ms", "15", "--itl-ms", "2", "--top", "20",
                                      "--max-model-len", "256"});
    const fs::path dir = fs::temp_directory_path() / "qbench_served_run";
    fs::remove_all(dir);
    write_file_atomic(dir / "run.yaml", config(server.url(), dir / "out"));
    const auto r = run_qbench({"-q", "run", (dir / "run.yaml").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto rep = json::parse(read_file(dir / "out" / "report.json"));
    const auto& local = rep.at("variants").at(0);
    const auto& served = rep.at("variants").at(1);
    ASSERT_EQ(local.at("status"), "ok") << local.dump();
    ASSERT_EQ(served.at("status"), "ok") << served.dump();

    // The model block names the server, not a checkpoint.
    EXPECT_EQ(served.at("model").at("format"), "served");
    EXPECT_NE(served.at("model").at("path").get<std::string>().find("fake"), std::string::npos);

    // Perplexity: the same windows a local run scores, each target at the scripted log-prob.
    const auto tok = tokenizer::load_tokenizer(kSource / "models" / "qbench-tiny");
    const auto input = eval::load_perplexity_input(
        kSource / "datasets" / "tinyworld" / "test.txt",
        [&](const std::string& text, bool add_special) { return tok->encode(text, add_special); });
    eval::PerplexityOptions o;
    o.protocol = "sliding";
    o.max_length = 64;
    o.stride = 32;
    o.limit = 4;
    o.prefix_token = tok->bos_id() ? tok->bos_id() : tok->eos_id();
    double nll = 0.0;
    std::int64_t n = 0;
    for (const auto& w : eval::make_windows(input, o, nullptr)) {
        for (std::size_t t = static_cast<std::size_t>(w.score_from); t < w.ids.size(); ++t, ++n) nll -= scripted_logprob(w.ids[t]);
    }
    const auto& ppl = served.at("perplexity").at(0);
    EXPECT_EQ(ppl.at("tokens_scored").get<std::int64_t>(), n);
    EXPECT_EQ(local.at("perplexity").at(0).at("tokens_scored").get<std::int64_t>(), n);
    // The server's log-probs are float32 on the way (1e-7 relative each).
    EXPECT_NEAR(ppl.at("nll_sum").get<double>(), nll, 1e-6 * nll);

    // KLD against the local baseline from the server's top-20 only: a lower bound, labelled so.
    ASSERT_TRUE(served.contains("kld")) << served.dump();
    const auto& kld = served.at("kld");
    EXPECT_EQ(kld.at("variant_top_k"), 20);
    EXPECT_FALSE(kld.at("exact").get<bool>());
    EXPECT_EQ(kld.at("tokens").get<std::int64_t>(), n);
    EXPECT_GT(kld.at("kld_mean").get<double>(), 0.0);
    EXPECT_TRUE(std::isfinite(kld.at("kld_mean").get<double>()));

    // The multiple-choice task through the server's echoed log-probs.
    ASSERT_EQ(served.at("tasks").size(), 1u);
    EXPECT_EQ(served.at("tasks").at(0).at("metrics").at(0).at("n"), 6);

    // The load test: every request served, TTFT at least the scripted delay.
    ASSERT_TRUE(served.contains("serving")) << served.dump();
    EXPECT_FALSE(served.contains("throughput"));
    const auto& load = served.at("serving");
    EXPECT_EQ(load.at("requests_ok"), 5);
    EXPECT_EQ(load.at("concurrency"), 2);
    EXPECT_GE(load.at("ttft").at("p50_ms").get<double>(), 15.0);
    EXPECT_TRUE(local.contains("throughput"));

    // Cost from the served load's output tokens/s.
    ASSERT_TRUE(served.contains("cost")) << served.dump();
    EXPECT_EQ(served.at("cost").at("throughput_basis").get<std::string>().rfind("served load", 0), 0u);
    EXPECT_NEAR(served.at("cost").at("tokens_per_s").get<double>(), load.at("output_tokens_per_s").get<double>(), 1e-9);

    const std::string md = read_file(dir / "out" / "report.md");
    EXPECT_NE(md.find("## Served load"), std::string::npos);
    EXPECT_NE(md.find("variant served: its top-20, a lower bound"), std::string::npos);
    fs::remove_all(dir);
}

// A server that lists fewer log-probs than the variant says fails the variant with a clear error
// naming the setting; the local baseline is unaffected.
TEST(ServedRun, TooFewTopLogprobsFailTheServedVariantOnly) {
    testing_serve::FakeServer server({"--model", "fake", "--ttft-ms", "1", "--itl-ms", "1"});  // lists 2
    const fs::path dir = fs::temp_directory_path() / "qbench_served_run_few";
    fs::remove_all(dir);
    write_file_atomic(dir / "run.yaml", config(server.url(), dir / "out"));
    const auto r = run_qbench({"-q", "run", (dir / "run.yaml").string()});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    const auto rep = json::parse(read_file(dir / "out" / "report.json"));
    EXPECT_EQ(rep.at("variants").at(0).at("status"), "ok");
    const auto& served = rep.at("variants").at(1);
    EXPECT_EQ(served.at("status"), "failed");
    EXPECT_NE(served.at("error").get<std::string>().find("set server.top_logprobs to what the server returns"),
              std::string::npos)
        << served.dump();
    // Only the perplexity unit failed: the task and the load test still ran.
    EXPECT_EQ(served.at("tasks").size(), 1u);
    EXPECT_TRUE(served.contains("serving"));
    fs::remove_all(dir);
}

// A server that does not echo prompt log-probs (as llama.cpp's llama-server): perplexity and the
// multiple-choice task fail with one-line errors naming their units; the load test still runs.
TEST(ServedRun, AServerWithoutPromptLogprobsStillGetsItsLoadTest) {
    testing_serve::FakeServer server({"--model", "fake", "--ttft-ms", "1", "--itl-ms", "1", "--mode", "fewlogprobs"});
    const fs::path dir = fs::temp_directory_path() / "qbench_served_run_noecho";
    fs::remove_all(dir);
    write_file_atomic(dir / "run.yaml", config(server.url(), dir / "out"));
    const auto r = run_qbench({"-q", "run", (dir / "run.yaml").string()});
    EXPECT_NE(r.exit_code, 0) << r.err;
    const auto rep = json::parse(read_file(dir / "out" / "report.json"));
    EXPECT_EQ(rep.at("variants").at(0).at("status"), "ok");
    const auto& served = rep.at("variants").at(1);
    EXPECT_EQ(served.at("status"), "failed");
    const std::string error = served.at("error");
    EXPECT_NE(error.find("served/perplexity/sliding: "), std::string::npos) << error;
    EXPECT_NE(error.find("served/tasks/tinyworld_mc: "), std::string::npos) << error;
    EXPECT_TRUE(served.at("perplexity").empty());
    ASSERT_TRUE(served.contains("serving")) << served.dump();
    EXPECT_EQ(served.at("serving").at("requests_ok"), 5);
    fs::remove_all(dir);
}

// A server that is not there is a one-line error naming the variant's URL.
TEST(ServedRun, AnUnreachableServerFailsTheVariantNamingIt) {
    const fs::path dir = fs::temp_directory_path() / "qbench_served_run_down";
    fs::remove_all(dir);
    write_file_atomic(dir / "run.yaml", config("http://127.0.0.1:9/v1", dir / "out", ", max_retries: 0"));
    const auto r = run_qbench({"-q", "run", (dir / "run.yaml").string()});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    const auto rep = json::parse(read_file(dir / "out" / "report.json"));
    const auto& served = rep.at("variants").at(1);
    EXPECT_EQ(served.at("status"), "failed");
    EXPECT_NE(served.at("error").get<std::string>().find("127.0.0.1:9"), std::string::npos) << served.dump();
    fs::remove_all(dir);
}


// `tokenizer: server`: the server's /tokenize gives the ids (the scripted server's are the UTF-8
// bytes), so the served NLL is the scripted log-probs summed over byte-level windows.
TEST(ServedRun, TheServersOwnTokenizer) {
    testing_serve::FakeServer server({"--model", "fake", "--ttft-ms", "1", "--itl-ms", "1", "--max-model-len", "256"});
    serve::ServerSpec spec;
    spec.url = server.url();
    spec.model = "fake";
    const auto tok = eval::make_server_tokenizer(spec);
    const std::string text = "h\xc3\xa9llo";
    EXPECT_EQ(tok->encode(text, true), (std::vector<std::int32_t>{'h', 0xc3, 0xa9, 'l', 'l', 'o'}));
    EXPECT_EQ(tok->decode(tok->encode(text, false), true), text);
    EXPECT_FALSE(tok->bos_id().has_value());  // /tokenize adds nothing to an empty text

    const fs::path dir = fs::temp_directory_path() / "qbench_served_run_server_tok";
    fs::remove_all(dir);
    const fs::path data = kSource / "datasets" / "tinyworld" / "test.txt";
    write_file_atomic(dir / "run.yaml",
                      "name: s\noutput_dir: " + (dir / "out").string() + "\nvariants:\n"
                      "  - name: served\n    server: {url: '" + server.url() + "', model: fake}\n    tokenizer: server\n"
                      "perplexity:\n  data: " + data.string() + "\n  protocols: [sliding]\n  max_length: 64\n"
                      "  stride: 32\n  limit: 3\ntasks: {names: [tinyworld_mc], limit: 4}\n");
    const auto r = run_qbench({"-q", "run", (dir / "run.yaml").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto rep = json::parse(read_file(dir / "out" / "report.json"));
    const auto& v = rep.at("variants").at(0);
    ASSERT_EQ(v.at("status"), "ok") << v.dump();
    const auto input = eval::load_perplexity_input(data, [](const std::string& t, bool) {
        eval::TokenIds ids;  // the UTF-8 bytes, as the scripted server's /tokenize
        for (const unsigned char c : t) ids.push_back(c);
        return ids;
    });
    eval::PerplexityOptions o;
    o.protocol = "sliding";
    o.max_length = 64;
    o.stride = 32;
    o.limit = 3;
    double nll = 0.0;
    std::int64_t n = 0;
    for (const auto& w : eval::make_windows(input, o, nullptr)) {
        for (std::size_t t = static_cast<std::size_t>(w.score_from); t < w.ids.size(); ++t, ++n) nll -= scripted_logprob(w.ids[t]);
    }
    const auto& ppl = v.at("perplexity").at(0);
    EXPECT_EQ(ppl.at("tokens_scored").get<std::int64_t>(), n);
    EXPECT_NEAR(ppl.at("nll_sum").get<double>(), nll, 1e-6 * nll);
    EXPECT_EQ(v.at("tasks").at(0).at("metrics").at(0).at("n"), 4);
    fs::remove_all(dir);
}

}  // namespace
}  // namespace qbench
