#include "qbench/plan/plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "qbench/util/error.hpp"
#include "qbench/util/hash.hpp"

namespace qbench::plan {

namespace {

using nlohmann::json;

// "size:mtime_ns" of one file.
std::string stat_line(const fs::path& p) {
    std::error_code ec;
    const auto size = fs::file_size(p, ec);
    if (ec) return "unreadable";
    const auto mtime = fs::last_write_time(p, ec);
    if (ec) return "unreadable";
    return fmt::format("{}:{}", size,
                       std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch()).count());
}

json without(json j, std::initializer_list<const char*> keys) {
    for (const char* k : keys) j.erase(k);
    return j;
}

WorkUnit make_unit(std::string variant, std::string section, std::string item, json inputs) {
    WorkUnit u;
    u.variant = std::move(variant);
    u.section = std::move(section);
    u.item = std::move(item);
    inputs["unit"] = {{"variant", u.variant}, {"section", u.section}, {"item", u.item}};
    u.key = sha256_hex(inputs.dump());
    u.inputs = std::move(inputs);
    return u;
}

}  // namespace

std::string WorkUnit::id() const {
    return item.empty() ? variant + "/" + section : variant + "/" + section + "/" + item;
}

std::string path_fingerprint(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) return sha256_hex(path.filename().string() + "=" + stat_line(path));
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(path, ec)) {
        if (e.is_regular_file(ec)) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    std::string listing;
    for (const auto& f : files) listing += f.filename().string() + "=" + stat_line(f) + "\n";
    return sha256_hex(listing);
}

std::vector<const config::VariantConfig*> run_order(const config::RunConfig& c) {
    std::vector<const config::VariantConfig*> out{&c.baseline()};
    for (const auto& v : c.variants) {
        if (!v.baseline) out.push_back(&v);
    }
    return out;
}

fs::path kld_base_relpath(const std::string& baseline, const std::string& protocol) {
    return fs::path("kld") / (baseline + "." + protocol + ".kldbase");
}

std::vector<WorkUnit> plan_run(const config::RunConfig& c, const Fingerprints& f) {
    const json& eff = c.effective;
    const json run = {{"device", c.device}, {"seed", c.seed}, {"threads", c.threads}};
    // A variant's echo, less what only the derived cost reads.
    auto variant_inputs = [&](const config::VariantConfig& v) {
        const auto i = static_cast<std::size_t>(&v - c.variants.data());
        json in{{"config", without(eff.at("variants").at(i), {"calibration_gpu_hours"})}};
        // A served model is named by its server's URL and model name (in the config echo): what
        // the server holds cannot be fingerprinted from here, only the tokenizer the client uses.
        if (v.served()) in["tokenizer_fingerprint"] = v.server_tokenizer ? std::string("the server's") : f.model(v.tokenizer);
        else in["model_fingerprint"] = f.model(v.model);
        return in;
    };
    const config::VariantConfig& base = c.baseline();
    const bool kld = c.perplexity && c.perplexity->kld && c.variants.size() >= 2;
    std::vector<WorkUnit> units;
    for (const auto* v : run_order(c)) {
        const json vin = variant_inputs(*v);
        units.push_back(make_unit(v->name, kModel, "", {{"run", run}, {"variant", vin}}));
        if (c.perplexity) {
            const json section = without(eff.at("perplexity"), {"protocols"});
            const std::string data = f.data(c.perplexity->data);
            for (const auto& protocol : c.perplexity->protocols) {
                json in = {{"run", run}, {"variant", vin}, {"section", section}, {"data_fingerprint", data}};
                const bool k = kld && protocol == c.perplexity->kld_protocol;
                if (k && !v->baseline) in["kld_baseline"] = variant_inputs(base);
                auto u = make_unit(v->name, kPerplexity, protocol, std::move(in));
                u.kld = k;
                units.push_back(std::move(u));
            }
        }
        if (c.throughput) {
            json in = {{"run", run}, {"variant", vin}, {"section", eff.at("throughput")}};
            if (!c.throughput->prompts.empty()) in["prompts_fingerprint"] = f.data(c.throughput->prompts);
            units.push_back(make_unit(v->name, kThroughput, "", std::move(in)));
        }
        if (c.tasks) {
            const json section = without(eff.at("tasks"), {"names"});
            for (const auto& name : c.tasks->names) {
                units.push_back(make_unit(v->name, kTasks, name,
                                          {{"run", run}, {"variant", vin}, {"section", section},
                                           {"task_fingerprint", f.task(name)}}));
            }
        }
    }
    return units;
}

}  // namespace qbench::plan
