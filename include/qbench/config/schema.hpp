// The option-declaration mechanism (DESIGN.md rule 3). A Schema<S> lists the options of the
// plain struct S once each: name, member, type (from the member), help, default and validation.
// That one list parses a YAML map into S (unknown keys, types, ranges, missing keys: errors as
// "FILE:LINE: KEY: problem"), applies command-line overrides through the same decoding and
// checks, echoes the resolved S as JSON, and describes the options for CLI flags and docs.
//
// A struct takes part by declaring `static const Schema<S>& schema();`; a member of such a
// struct type, std::optional of it (an optional section) or std::vector of it (a list of maps)
// is then an option like any other.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "qbench/config/option.hpp"
#include "qbench/config/quantize_spec.hpp"
#include "qbench/util/strings.hpp"

namespace qbench::config {

namespace fs = std::filesystem;

// Where the values being parsed come from.
struct ParseEnv {
    fs::path file;                           // the config file, as named in messages
    fs::path base_dir;                       // relative paths in the file resolve against it
    const CliOverrides* overrides = nullptr;  // flags given on the command line, may be null
};

// A YAML node being parsed, with its dotted key and origin. fail() throws a kBadInput
// qbench::Error "FILE:LINE: KEY: problem" (or "--flag: KEY: problem" for a command-line value).
class Value {
public:
    Value(YAML::Node node, std::string key, const ParseEnv& env, std::string cli_flag = {});

    const YAML::Node& node() const { return node_; }
    const std::string& key() const { return key_; }
    const ParseEnv& env() const { return *env_; }
    // Relative paths resolve against the config's directory, or the working directory for flags.
    fs::path base_dir() const;

    // The entry `name` of this map; when absent, this map's node under the entry's key, so that
    // a failure names the key at the line of the map.
    Value field(std::string_view name) const;
    Value element(std::size_t index) const;

    // The scalar text; fails "expected <what>, got a list" (or a map, or nothing) otherwise.
    std::string scalar(std::string_view what) const;

    [[noreturn]] void fail(std::string_view problem) const;

private:
    YAML::Node node_;
    std::string key_;
    const ParseEnv* env_;
    std::string cli_flag_;
};

// "a list", "a map", "nothing" or "'text'": what a node holds, for "expected X, got Y".
std::string describe_node(const YAML::Node& node);

// Parses a YAML document (a run configuration, a task): text that is not UTF-8 or not YAML is a
// kBadInput error "FILE:LINE: ...".
YAML::Node load_yaml(std::string_view text, const std::filesystem::path& source);

// The problem text for a value outside `choices`, with a suggestion for a misspelling.
std::string unknown_choice(std::string_view value, const std::vector<std::string>& choices);

template <typename S>
concept Declared = requires {
    { S::schema() } -> std::same_as<const Schema<S>&>;
};

// Codec<T>: decode(const Value&) -> T, encode(const T&) -> json, type() -> name for help.
template <typename T>
struct Codec;

template <>
struct Codec<bool> {
    static bool decode(const Value& v);
    static nlohmann::json encode(bool b) { return b; }
    static std::string type() { return "boolean"; }
};

template <>
struct Codec<std::int64_t> {
    static std::int64_t decode(const Value& v);
    static nlohmann::json encode(std::int64_t i) { return i; }
    static std::string type() { return "integer"; }
};

template <>
struct Codec<double> {
    static double decode(const Value& v);
    static nlohmann::json encode(double d) { return d; }
    static std::string type() { return "number"; }
};

template <>
struct Codec<std::string> {
    static std::string decode(const Value& v);
    static nlohmann::json encode(const std::string& s) { return s; }
    static std::string type() { return "string"; }
};

// Paths are resolved (absolute, normalized) against Value::base_dir(); a leading "~/" is $HOME.
template <>
struct Codec<fs::path> {
    static fs::path decode(const Value& v);
    static nlohmann::json encode(const fs::path& p) { return p.string(); }
    static std::string type() { return "path"; }
};

// The short form "rtn:bits=4,group_size=32", or a map {method: rtn, bits: 4, group_size: 32};
// echoed in the canonical short form.
template <>
struct Codec<QuantizeSpec> {
    static QuantizeSpec decode(const Value& v);
    static nlohmann::json encode(const QuantizeSpec& q) { return q.to_string(); }
    static std::string type() { return "quantize spec"; }
};

// A list, or a single scalar standing for a list of one.
template <typename T>
struct Codec<std::vector<T>> {
    static std::vector<T> decode(const Value& v) {
        if (v.node().IsScalar() && !Declared<T>) return {Codec<T>::decode(v)};
        if (!v.node().IsSequence()) v.fail("expected a list, got " + describe_node(v.node()));
        std::vector<T> out;
        out.reserve(v.node().size());
        for (std::size_t i = 0; i < v.node().size(); ++i)
            out.push_back(Codec<T>::decode(v.element(i)));
        return out;
    }
    static nlohmann::json encode(const std::vector<T>& xs) {
        nlohmann::json j = nlohmann::json::array();
        for (const auto& x : xs) j.push_back(Codec<T>::encode(x));
        return j;
    }
    static std::string type() { return "list of " + Codec<T>::type() + "s"; }
};

// Absent stays std::nullopt and echoes as null.
template <typename T>
struct Codec<std::optional<T>> {
    static std::optional<T> decode(const Value& v) { return Codec<T>::decode(v); }
    static nlohmann::json encode(const std::optional<T>& x) {
        return x ? Codec<T>::encode(*x) : nlohmann::json(nullptr);
    }
    static std::string type() { return Codec<T>::type(); }
};

template <Declared S>
struct Codec<S> {
    static S decode(const Value& v) { return S::schema().parse(v); }
    static nlohmann::json encode(const S& s) { return S::schema().echo(s); }
    static std::string type() { return "map"; }
};

// The declared struct inside T, if any: S, std::optional<S>, std::vector<S>.
template <typename T>
struct SectionOf {
    using type = void;
};
template <Declared S>
struct SectionOf<S> {
    using type = S;
};
template <typename T>
struct SectionOf<std::optional<T>> : SectionOf<T> {};
template <typename T>
struct SectionOf<std::vector<T>> : SectionOf<T> {};

// The values a map's options were parsed from, for a schema's finalizers (cross-field checks
// and derived defaults).
class Fields {
public:
    explicit Fields(Value map) : map_(std::move(map)) {}
    // True when the option was given in the file or by a command-line flag.
    bool given(std::string_view name) const { return values_.count(std::string(name)) > 0; }
    // The value of an option; when not given, the map under the option's key.
    Value at(std::string_view name) const;
    const Value& map() const { return map_; }
    void set(const std::string& name, Value v) { values_.insert_or_assign(name, std::move(v)); }

private:
    Value map_;
    std::map<std::string, Value> values_;
};

template <typename S, typename T>
class OptionBuilder;

template <typename S>
class Schema {
public:
    // Runs after all options of one map are parsed; may fill derived defaults and fail.
    using Finalizer = std::function<void(S&, const Fields&)>;

    template <typename T>
    OptionBuilder<S, T> option(std::string name, T S::*member, std::string help);

    void finalize(Finalizer f) { finalizers_.push_back(std::move(f)); }

    S parse(const Value& map) const;
    nlohmann::json echo(const S& s) const;
    // Appends the options, and those of nested sections, with keys under `prefix`.
    void describe(const std::string& prefix, std::vector<OptionInfo>& out) const;

private:
    template <typename, typename>
    friend class OptionBuilder;

    struct Decl {
        OptionInfo info;  // info.key is the bare name here
        std::vector<std::string> aliases;
        std::function<void(S&, const Value&)> assign;  // decode, check, store
        std::function<void(S&)> set_default;           // empty when there is no default
        std::function<nlohmann::json(const S&)> echo;
        std::function<void(const std::string&, std::vector<OptionInfo>&)> describe_section;
    };

    const Decl* find(std::string_view name) const;

    std::vector<std::unique_ptr<Decl>> decls_;
    std::vector<Finalizer> finalizers_;
};

// Returned by Schema::option; each call adds to the one declaration.
template <typename S, typename T>
class OptionBuilder {
public:
    // Returns a problem text for a bad value, nullopt for a good one.
    using Check = std::function<std::optional<std::string>(const T&)>;

    OptionBuilder& default_value(T value) {
        decl_.info.default_text = text_of(Codec<T>::encode(value));
        auto member = member_;
        decl_.set_default = [member, value](S& s) { s.*member = value; };
        return *this;
    }
    // Documents a default computed by a finalizer ("max_length/2").
    OptionBuilder& default_text(std::string text) {
        decl_.info.default_text = std::move(text);
        return *this;
    }
    OptionBuilder& required() {
        decl_.info.required = true;
        return *this;
    }
    // Another accepted name for the key (`protocol` for `protocols`); giving both is an error.
    OptionBuilder& alias(std::string name) {
        decl_.aliases.push_back(std::move(name));
        return *this;
    }
    // A command-line flag that overrides the file's value (see config/cli_bridge.hpp).
    OptionBuilder& cli(std::string flag) {
        decl_.info.cli_flag = std::move(flag);
        return *this;
    }
    OptionBuilder& check(Check c) {
        checks_->push_back(std::move(c));
        return *this;
    }
    OptionBuilder& range(T lo, T hi)
        requires std::is_arithmetic_v<T>
    {
        return check([lo, hi](const T& x) -> std::optional<std::string> {
            if (x >= lo && x <= hi) return std::nullopt;
            return "must be in " + text_of(lo) + ".." + text_of(hi) + ", got " + text_of(x);
        });
    }
    OptionBuilder& at_least(T lo)
        requires std::is_arithmetic_v<T>
    {
        return check([lo](const T& x) -> std::optional<std::string> {
            if (x >= lo) return std::nullopt;
            return "must be at least " + text_of(lo) + ", got " + text_of(x);
        });
    }
    // For a string, or each element of a list of strings.
    OptionBuilder& one_of(std::vector<std::string> choices)
        requires std::same_as<T, std::string> || std::same_as<T, std::vector<std::string>>
    {
        return check([choices](const T& x) -> std::optional<std::string> {
            if constexpr (std::same_as<T, std::string>) {
                if (std::find(choices.begin(), choices.end(), x) == choices.end())
                    return unknown_choice(x, choices);
            } else {
                for (const auto& e : x)
                    if (std::find(choices.begin(), choices.end(), e) == choices.end())
                        return unknown_choice(e, choices);
            }
            return std::nullopt;
        });
    }
    OptionBuilder& existing_path()
        requires std::same_as<T, fs::path>
    {
        return check([](const fs::path& p) -> std::optional<std::string> {
            std::error_code ec;
            if (fs::exists(p, ec)) return std::nullopt;
            return "path does not exist: " + p.string();
        });
    }
    OptionBuilder& non_empty()
        requires requires(const T& t) { t.empty(); }
    {
        return check([](const T& x) -> std::optional<std::string> {
            if (!x.empty()) return std::nullopt;
            return std::string("must not be empty");
        });
    }

private:
    friend class Schema<S>;
    using Decl = typename Schema<S>::Decl;

    OptionBuilder(Decl& decl, T S::*member) : decl_(decl), member_(member) {
        auto checks = checks_;
        decl_.assign = [member, checks](S& s, const Value& v) {
            T x = Codec<T>::decode(v);
            for (const auto& c : *checks)
                if (auto problem = c(x)) v.fail(*problem);
            s.*member = std::move(x);
        };
        decl_.echo = [member](const S& s) { return Codec<T>::encode(s.*member); };
        using Section = typename SectionOf<T>::type;
        if constexpr (!std::is_void_v<Section>) {
            const bool list =
                !std::is_same_v<T, Section> && !std::is_same_v<T, std::optional<Section>>;
            const std::string name = decl_.info.key;
            decl_.describe_section = [name, list](const std::string& prefix,
                                                  std::vector<OptionInfo>& out) {
                Section::schema().describe(prefix + name + (list ? "[]." : "."), out);
            };
        }
    }

    template <typename U>
    static std::string text_of(const U& x) {
        if constexpr (std::is_arithmetic_v<U>) {
            return nlohmann::json(x).dump();
        } else {
            const nlohmann::json& j = x;
            return j.is_string() ? j.template get<std::string>() : j.dump();
        }
    }

    Decl& decl_;
    T S::*member_;
    std::shared_ptr<std::vector<Check>> checks_ = std::make_shared<std::vector<Check>>();
};

template <typename S>
template <typename T>
OptionBuilder<S, T> Schema<S>::option(std::string name, T S::*member, std::string help) {
    auto decl = std::make_unique<Decl>();
    decl->info.key = std::move(name);
    decl->info.type = Codec<T>::type();
    decl->info.help = std::move(help);
    decls_.push_back(std::move(decl));
    return OptionBuilder<S, T>(*decls_.back(), member);
}

template <typename S>
const typename Schema<S>::Decl* Schema<S>::find(std::string_view name) const {
    for (const auto& d : decls_) {
        if (d->info.key == name) return d.get();
        for (const auto& a : d->aliases)
            if (a == name) return d.get();
    }
    return nullptr;
}

template <typename S>
S Schema<S>::parse(const Value& map) const {
    if (!map.node().IsMap()) map.fail("expected a map, got " + describe_node(map.node()));
    const std::string prefix = map.key().empty() ? "" : map.key() + ".";
    // Entries given in the file, by declaration, checked for unknown and repeated keys.
    struct Given {
        std::string key;
        int key_line;
        YAML::Node value;
    };
    std::map<const Decl*, Given> given;
    for (auto it = map.node().begin(); it != map.node().end(); ++it) {
        Value key_value(it->first, prefix + describe_node(it->first), map.env());
        if (!it->first.IsScalar()) key_value.fail("a key must be a plain name");
        const std::string key = it->first.Scalar();
        const Value entry(it->first, prefix + key, map.env());
        const Decl* d = find(key);
        if (d == nullptr) {
            std::vector<std::string> names;
            for (const auto& decl : decls_) names.push_back(decl->info.key);
            entry.fail("unknown key" + did_you_mean(key, names));
        }
        if (auto seen = given.find(d); seen != given.end()) {
            const std::string line = std::to_string(seen->second.key_line);
            if (seen->second.key == key) entry.fail("given twice (first on line " + line + ")");
            entry.fail("'" + seen->second.key + "' (line " + line + ") and '" + key +
                       "' name the same option; give one");
        }
        given.emplace(d, Given{key, it->first.Mark().line + 1, it->second});
    }

    S s{};
    Fields fields(map);
    for (const auto& d : decls_) {
        const std::string& name = d->info.key;
        const CliOverrides* overrides = map.env().overrides;
        if (!d->info.cli_flag.empty() && overrides != nullptr) {
            if (auto o = overrides->find(d->info.cli_flag); o != overrides->end()) {
                Value v(YAML::Node(o->second), prefix + name, map.env(), d->info.cli_flag);
                d->assign(s, v);
                fields.set(name, v);
                continue;
            }
        }
        if (auto g = given.find(d.get()); g != given.end()) {
            Value v(g->second.value, prefix + name, map.env());
            d->assign(s, v);
            fields.set(name, v);
        } else if (d->info.required) {
            Value(map.node(), prefix + name, map.env()).fail("missing required option");
        } else if (d->set_default) {
            d->set_default(s);
        }
    }
    for (const auto& f : finalizers_) f(s, fields);
    return s;
}

template <typename S>
nlohmann::json Schema<S>::echo(const S& s) const {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& d : decls_) j[d->info.key] = d->echo(s);
    return j;
}

template <typename S>
void Schema<S>::describe(const std::string& prefix, std::vector<OptionInfo>& out) const {
    for (const auto& d : decls_) {
        OptionInfo info = d->info;
        info.key = prefix + info.key;
        out.push_back(std::move(info));
        if (d->describe_section) d->describe_section(prefix, out);
    }
}

}  // namespace qbench::config
