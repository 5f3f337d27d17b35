// Test helpers for the pickle engine: evaluate bytes, and print a value graph canonically so two
// graphs (an input's and its reconstruction's) can be compared as text.
#pragma once

#include <brine/brine.hpp>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace brine_test {

inline brine::byte_view bytes_of(std::string_view text) { return brine::as_bytes(text); }

template <class Policy = brine::policy::torch_weights_only>
brine::result<brine::pickle::evaluation> evaluate(std::string_view pickle, const Policy& rules = Policy{}) {
    brine::pickle::machine<Policy> machine(rules);
    return machine.run(brine::as_bytes(pickle));
}

// A canonical rendering: shared nodes are numbered at first sight (#n=...) and referred to as #n
// afterwards, so sharing and cycles show, and node ids (evaluation order) do not matter.
class graph_printer {
public:
    explicit graph_printer(const brine::pickle::graph& g) : g_(g), label_(g.size(), 0) {}

    std::string print(brine::pickle::node_id id) {
        std::string out;
        render(id, out, 0);
        return out;
    }

private:
    void render(brine::pickle::node_id id, std::string& out, int depth) {
        using brine::pickle::node_kind;
        if (depth > 200) {
            out += "...";
            return;
        }
        if (id < label_.size() && label_[id] != 0) {
            out += "#" + std::to_string(label_[id]);
            return;
        }
        const auto& n = g_[id];
        const bool container = n.kind == node_kind::list || n.kind == node_kind::dict || n.kind == node_kind::set ||
                               n.kind == node_kind::tuple || n.kind == node_kind::frozenset ||
                               n.kind == node_kind::call || n.kind == node_kind::persistent_id;
        if (container) {
            label_[id] = ++next_;
            out += "#" + std::to_string(next_) + "=";
        }
        switch (n.kind) {
            case node_kind::none: out += "None"; break;
            case node_kind::boolean: out += n.boolean() ? "True" : "False"; break;
            case node_kind::integer: out += std::to_string(n.integer()); break;
            case node_kind::big_integer: out += "bigint(" + hex(n.text()) + ")"; break;
            case node_kind::floating: {
                char buffer[64];
                std::snprintf(buffer, sizeof buffer, "%.17g", n.real());
                out += buffer;
                break;
            }
            case node_kind::string: out += "'" + std::string(n.text()) + "'"; break;
            case node_kind::legacy_string: out += "str2(" + hex(n.text()) + ")"; break;
            case node_kind::bytes: out += "b(" + hex(n.text()) + ")"; break;
            case node_kind::bytearray: out += "bytearray(" + hex(n.text()) + ")"; break;
            case node_kind::global: {
                const brine::pickle::global_name name = g_.global(id);
                out += "<" + std::string(name.module) + ":" + std::string(name.name) + ">";
                break;
            }
            case node_kind::blocked: out += "BLOCKED"; break;
            default: {
                out += std::string(brine::pickle::to_string(n.kind)) + "(";
                list(g_.children(id), out, depth);
                if (!g_.items(id).empty()) {
                    out += " items=";
                    list(g_.items(id), out, depth);
                }
                if (!g_.states(id).empty()) {
                    out += " states=";
                    list(g_.states(id), out, depth);
                }
                out += ")";
            }
        }
    }

    void list(brine::pickle::node_ids ids, std::string& out, int depth) {
        for (std::size_t i = 0; i < ids.size(); ++i) {
            if (i) out += ", ";
            render(ids[i], out, depth + 1);
        }
    }

    static std::string hex(std::string_view bytes) {
        static const char digits[] = "0123456789abcdef";
        std::string out;
        for (const char c : bytes) {
            out += digits[static_cast<unsigned char>(c) >> 4];
            out += digits[static_cast<unsigned char>(c) & 15];
        }
        return out;
    }

    const brine::pickle::graph& g_;
    std::vector<int> label_;
    int next_ = 0;
};

inline std::string describe(const brine::pickle::evaluation& e) {
    return graph_printer(e.values).print(e.values.root());
}

}  // namespace brine_test
