#include "qbench/eval/tasks/scoring.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cmath>

#include "qbench/tokenizer/unicode.hpp"
#include "qbench/util/error.hpp"

namespace qbench::eval::tasks {

struct PyRegex::Impl {
    std::string pattern;
    pcre2_code* code = nullptr;
    ~Impl() {
        if (code != nullptr) pcre2_code_free(code);
    }
};

PyRegex::PyRegex(std::string_view pattern) : impl_(std::make_unique<Impl>()) {
    impl_->pattern = std::string(pattern);
    int err = 0;
    PCRE2_SIZE offset = 0;
    impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP,
                                &err, &offset, nullptr);
    if (impl_->code == nullptr) {
        PCRE2_UCHAR buf[256];
        pcre2_get_error_message(err, buf, sizeof buf);
        throw_bad_input("regex '{}': {} at offset {}", impl_->pattern, reinterpret_cast<char*>(buf), offset);
    }
}

PyRegex::~PyRegex() = default;

namespace {

// Successive matches as ovectors (pairs per group, group 0 first), Python's iteration: after an
// empty match the search resumes one character later.
template <typename F>
void for_each_match(pcre2_code* code, std::string_view s, F&& f) {
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
    std::size_t pos = 0;
    while (pos <= s.size()) {
        const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), pos, 0, md, nullptr);
        if (rc < 0) break;
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        const auto groups = pcre2_get_ovector_count(md);
        f(ov, groups);
        if (ov[1] == ov[0]) {
            if (ov[1] >= s.size()) break;
            std::size_t next = ov[1] + 1;
            while (next < s.size() && (static_cast<unsigned char>(s[next]) & 0xc0) == 0x80) ++next;
            pos = next;
        } else {
            pos = ov[1];
        }
    }
    pcre2_match_data_free(md);
}

}  // namespace

std::vector<std::vector<std::string>> PyRegex::findall(std::string_view s) const {
    std::uint32_t capture_count = 0;
    pcre2_pattern_info(impl_->code, PCRE2_INFO_CAPTURECOUNT, &capture_count);
    std::vector<std::vector<std::string>> out;
    for_each_match(impl_->code, s, [&](const PCRE2_SIZE* ov, std::uint32_t) {
        std::vector<std::string> groups;
        if (capture_count == 0) {
            groups.emplace_back(s.substr(ov[0], ov[1] - ov[0]));
        } else {
            for (std::uint32_t g = 1; g <= capture_count; ++g) {
                const auto b = ov[2 * g], e = ov[2 * g + 1];
                groups.emplace_back(b == PCRE2_UNSET ? std::string() : std::string(s.substr(b, e - b)));
            }
        }
        out.push_back(std::move(groups));
    });
    return out;
}

std::string PyRegex::sub(std::string_view s, std::string_view replacement) const {
    std::string out;
    std::size_t last = 0;
    for_each_match(impl_->code, s, [&](const PCRE2_SIZE* ov, std::uint32_t) {
        out.append(s.substr(last, ov[0] - last));
        out.append(replacement);
        last = ov[1];
    });
    out.append(s.substr(last));
    return out;
}

std::vector<std::string> PyRegex::split(std::string_view s) const {
    std::vector<std::string> out;
    std::size_t last = 0;
    for_each_match(impl_->code, s, [&](const PCRE2_SIZE* ov, std::uint32_t) {
        out.emplace_back(s.substr(last, ov[0] - last));
        last = ov[1];
    });
    out.emplace_back(s.substr(last));
    return out;
}

bool PyRegex::search(std::string_view s) const {
    bool found = false;
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(impl_->code, nullptr);
    found = pcre2_match(impl_->code, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), 0, 0, md, nullptr) >= 0;
    pcre2_match_data_free(md);
    return found;
}

namespace {

std::string py_strip(const std::string& s) {
    // str.strip(): Python whitespace; ASCII suffices for the texts here plus U+00A0 is rare.
    const auto first = s.find_first_not_of(" \t\n\r\f\v\x1c\x1d\x1e\x1f");
    if (first == std::string::npos) return "";
    const auto last = s.find_last_not_of(" \t\n\r\f\v\x1c\x1d\x1e\x1f");
    return s.substr(first, last - first + 1);
}

}  // namespace

std::string apply_filters(const std::vector<FilterStep>& steps, const std::string& response) {
    std::string r = response;
    for (const auto& step : steps) {
        if (step.function == "regex") {
            const PyRegex re(step.pattern);
            const auto matches = re.findall(r);
            if (matches.empty()) {
                r = step.fallback;
                continue;
            }
            const auto n = static_cast<std::int64_t>(matches.size());
            const std::int64_t at = step.group_select < 0 ? n + step.group_select : step.group_select;
            if (at < 0 || at >= n) {
                r = step.fallback;  // Python would raise IndexError; qbench counts it as no match
                continue;
            }
            const auto& groups = matches[static_cast<std::size_t>(at)];
            std::string pick;
            bool found = false;
            for (const auto& g : groups) {
                if (!g.empty()) {
                    pick = g;
                    found = true;
                    break;
                }
            }
            r = found ? py_strip(pick) : (groups.size() == 1 ? std::string() : step.fallback);
        } else if (step.function == "remove_whitespace") {
            r = py_strip(r);
        } else if (step.function == "lowercase") {
            r = tokenizer::lowercase(r);
        }
        // take_first: one response per filter application here, so the identity.
    }
    return r;
}

double exact_match(const MetricConfig& m, const std::string& prediction, const std::string& reference) {
    std::string p = prediction, r = reference;
    for (const auto& pattern : m.regexes_to_ignore) {
        const PyRegex re(pattern);
        p = re.sub(p, "");
        r = re.sub(r, "");
    }
    if (m.ignore_case) {
        p = tokenizer::lowercase(p);
        r = tokenizer::lowercase(r);
    }
    if (m.ignore_punctuation) {
        static const std::string kPunct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
        auto drop = [](std::string& s) {
            s.erase(std::remove_if(s.begin(), s.end(), [](char c) { return kPunct.find(c) != std::string::npos; }),
                    s.end());
        };
        drop(p);
        drop(r);
    }
    return p == r ? 1.0 : 0.0;
}

std::int64_t code_points(std::string_view s) {
    std::int64_t n = 0;
    for (char c : s)
        if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++n;
    return n;
}

ChoiceScores score_choices(const std::vector<double>& lls, const std::vector<std::string>& choices,
                           const std::vector<std::int64_t>& gold) {
    if (lls.size() != choices.size() || lls.empty())
        throw_bad_input("{} loglikelihoods for {} choices", lls.size(), choices.size());
    auto argmax = [&](auto weight) {
        std::int64_t best = 0;
        double best_v = lls[0] / weight(0);
        for (std::size_t i = 1; i < lls.size(); ++i) {
            const double v = lls[i] / weight(i);
            if (v > best_v || (std::isnan(best_v) && !std::isnan(v))) {
                best_v = v;
                best = static_cast<std::int64_t>(i);
            }
        }
        return best;
    };
    ChoiceScores s;
    s.pred = argmax([](std::size_t) { return 1.0; });
    s.pred_norm = argmax([&](std::size_t i) { return static_cast<double>(code_points(choices[i])); });
    s.pred_bytes = argmax([&](std::size_t i) { return static_cast<double>(choices[i].size()); });
    auto hit = [&](std::int64_t pred) {
        return std::find(gold.begin(), gold.end(), pred) != gold.end() ? 1.0 : 0.0;
    };
    s.acc = hit(s.pred);
    s.acc_norm = hit(s.pred_norm);
    s.acc_bytes = hit(s.pred_bytes);
    return s;
}

double pass_at_k(std::int64_t n, std::int64_t c, std::int64_t k) {
    if (c < 0 || c > n || k < 1 || k > n) throw_bad_input("pass@k needs 0 <= c <= n and 1 <= k <= n (n={}, c={}, k={})", n, c, k);
    if (n - c < k) return 1.0;
    double prod = 1.0;
    for (std::int64_t i = n - c + 1; i <= n; ++i) prod *= 1.0 - static_cast<double>(k) / static_cast<double>(i);
    return 1.0 - prod;
}

}  // namespace qbench::eval::tasks
