// SPDX-License-Identifier: MIT
//
// The value graph: what a pickle would build, as data. Nodes are created by the symbolic machine
// in evaluation order and referred to by index; shared references share a node (a DAG, never
// expanded), and mutation (APPEND, SETITEM, BUILD) changes the node, so every reference sees it,
// exactly as object identity works in Python. Cycles through lists, dicts and sets are possible,
// as in Python; consumers must track visited nodes.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/pickle/opcodes.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace pickle {

using node_id = std::uint32_t;
inline constexpr node_id no_node = 0xFFFFFFFFu;

enum class node_kind : std::uint8_t {
    none,
    boolean,
    integer,         // fits in int64
    big_integer,     // text(): little-endian two's complement bytes
    floating,
    string,          // str: text() is UTF-8
    legacy_string,   // Python 2 str (STRING, BINSTRING, SHORT_BINSTRING): bytes whose Python type
                     // depends on the loader's `encoding`; text() holds them raw
    bytes,
    bytearray,
    tuple,
    list,
    dict,            // children(): key, value, key, value... in insertion order (SETITEM replays)
    set,
    frozenset,
    global,          // a resolved name: module(), name() (after Python 2 name mapping)
    call,            // children()[0] is the callable, [1] the args tuple, [2] kwargs (NEWOBJ_EX)
    persistent_id,   // children()[0] is the id the loader's persistent_load would receive
    blocked,         // refused by the policy; finding() says why
};

[[nodiscard]] constexpr std::string_view to_string(node_kind kind) noexcept {
    switch (kind) {
        case node_kind::none: return "none";
        case node_kind::boolean: return "bool";
        case node_kind::integer: return "int";
        case node_kind::big_integer: return "int (big)";
        case node_kind::floating: return "float";
        case node_kind::string: return "str";
        case node_kind::legacy_string: return "str (Python 2)";
        case node_kind::bytes: return "bytes";
        case node_kind::bytearray: return "bytearray";
        case node_kind::tuple: return "tuple";
        case node_kind::list: return "list";
        case node_kind::dict: return "dict";
        case node_kind::set: return "set";
        case node_kind::frozenset: return "frozenset";
        case node_kind::global: return "global";
        case node_kind::call: return "call";
        case node_kind::persistent_id: return "persistent id";
        case node_kind::blocked: return "blocked";
    }
    return "unknown";
}

// How a call node was made; the writer re-emits the same form.
enum class call_form : std::uint8_t { reduce, newobj, newobj_ex, inst, obj };

// Why something was refused. Text fields point into the graph's storage or static strings.
struct finding {
    opcode op = opcode::STOP;          // the opcode that asked
    std::uint64_t offset = 0;          // where in the pickle
    std::string_view module;           // the global involved, if any
    std::string_view name;
    const char* reason = "";           // static text
};

struct node {
    node_kind kind = node_kind::none;
    call_form form = call_form::reduce;
    opcode origin = opcode::STOP;      // the opcode that created it
    bool captured = false;             // passed (directly or inside containers) to a call
    std::uint64_t offset = 0;          // of that opcode
    union {
        std::int64_t integer;
        double real;
        bool boolean;
    };
    std::string_view text;             // string/bytes/big-int payload; module of a global
    std::string_view name;             // qualname of a global
    std::vector<node_id> children;     // container items, call parts, persistent id
    std::vector<node_id> items;        // key, value... set by SETITEM(S) on a call's result (OrderedDict)
    std::vector<node_id> states;       // states applied by BUILD, in order
    std::uint32_t finding_index = 0;   // for blocked nodes: index into graph::findings()

    node() noexcept : integer(0) {}
};

// Owns the nodes and the bytes of decoded strings. Text views stay valid for the graph's life
// (chunks never move); raw strings may also point into the pickle input, which the caller keeps
// alive as long as the graph.
class graph {
public:
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] const node& operator[](node_id id) const noexcept { return chunks_of_nodes_[id >> chunk_bits][id & chunk_mask]; }
    [[nodiscard]] node& operator[](node_id id) noexcept { return chunks_of_nodes_[id >> chunk_bits][id & chunk_mask]; }
    [[nodiscard]] const std::vector<finding>& findings() const noexcept { return findings_; }
    [[nodiscard]] node_id root() const noexcept { return root_; }
    void set_root(node_id id) noexcept { root_ = id; }

    node_id add(node_kind kind, opcode origin, std::uint64_t offset) {
        if ((size_ & chunk_mask) == 0) chunks_of_nodes_.push_back(std::unique_ptr<node[]>(new node[chunk_nodes]));
        const auto id = static_cast<node_id>(size_++);
        node& item = (*this)[id];
        item.kind = kind;
        item.origin = origin;
        item.offset = offset;
        return id;
    }

    // Copies bytes into storage that lives as long as the graph.
    std::string_view keep(byte_view bytes) {
        if (bytes.empty()) return {};
        if (bytes.size() > chunk_room_) {
            const std::size_t size = bytes.size() > chunk_size ? bytes.size() : chunk_size;
            chunks_.push_back(std::unique_ptr<char[]>(new char[size]));
            chunk_next_ = chunks_.back().get();
            chunk_room_ = size;
        }
        std::memcpy(chunk_next_, bytes.data(), bytes.size());
        const std::string_view kept(chunk_next_, bytes.size());
        chunk_next_ += bytes.size();
        chunk_room_ -= bytes.size();
        return kept;
    }

    // Turns a node into a blocked one in place (every reference sees it) and records why.
    void block(node_id id, const finding& why) {
        findings_.push_back(why);
        node& item = (*this)[id];
        item.kind = node_kind::blocked;
        item.finding_index = static_cast<std::uint32_t>(findings_.size() - 1);
    }

    // A new blocked node, for refusals that have no existing node to mark.
    node_id add_blocked(const finding& why) {
        const node_id id = add(node_kind::blocked, why.op, why.offset);
        findings_.push_back(why);
        (*this)[id].finding_index = static_cast<std::uint32_t>(findings_.size() - 1);
        return id;
    }

    // Findings about the stream itself (trailing data, misplaced PROTO) that block no node.
    void note(const finding& what) { findings_.push_back(what); }

    [[nodiscard]] const finding& finding_of(node_id id) const noexcept {
        return findings_[(*this)[id].finding_index];
    }

private:
    static constexpr std::size_t chunk_size = 64 * 1024;

    // Nodes live in fixed-size chunks: growing never moves them (references stay valid) and
    // costs one allocation per 4096 nodes.
    static constexpr unsigned chunk_bits = 12;
    static constexpr std::size_t chunk_nodes = std::size_t{1} << chunk_bits;
    static constexpr std::size_t chunk_mask = chunk_nodes - 1;
    std::vector<std::unique_ptr<node[]>> chunks_of_nodes_;
    std::size_t size_ = 0;
    std::vector<finding> findings_;
    std::vector<std::unique_ptr<char[]>> chunks_;
    char* chunk_next_ = nullptr;
    std::size_t chunk_room_ = 0;
    node_id root_ = no_node;
};

}  // namespace pickle
BRINE_NAMESPACE_END
