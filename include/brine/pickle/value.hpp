// SPDX-License-Identifier: MIT
//
// The value graph: what a pickle would build, as data. Nodes are created by the symbolic machine
// in evaluation order and referred to by index; shared references share a node (a DAG, never
// expanded), and mutation (APPEND, SETITEM, BUILD) changes the node, so every reference sees it,
// exactly as object identity works in Python. Cycles through lists, dicts and sets are possible,
// as in Python; consumers must track visited nodes.
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/memory.hpp>
#include <brine/pickle/opcodes.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
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

// The (module, qualname) of a global node, after Python 2 name mapping.
struct global_name {
    std::string_view module;
    std::string_view name;
};

// A read-only run of node ids (a container's items, a call's parts). Valid until the graph
// changes: the machine may move lists while it evaluates; a finished graph never changes.
class node_ids {
public:
    constexpr node_ids() noexcept = default;
    constexpr node_ids(const node_id* data, std::size_t size) noexcept : data_(data), size_(size) {}
    [[nodiscard]] constexpr const node_id* begin() const noexcept { return data_; }
    [[nodiscard]] constexpr const node_id* end() const noexcept { return data_ + size_; }
    [[nodiscard]] constexpr std::size_t size() const noexcept { return size_; }
    [[nodiscard]] constexpr bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] constexpr node_id operator[](std::size_t i) const noexcept { return data_[i]; }
    [[nodiscard]] constexpr node_id back() const noexcept { return data_[size_ - 1]; }

private:
    const node_id* data_ = nullptr;
    std::size_t size_ = 0;
};

// One value. 32 bytes: a scan of a large pickle makes millions of them, so the payload is a union
// and everything a few nodes need (names of globals, SETITEM entries and BUILD states of calls)
// lives in side tables of the graph.
class node {
public:
    node_kind kind;
    call_form form;                    // for calls: how it was made; the writer re-emits the same form
    opcode origin;                     // the opcode that created it
    std::uint64_t offset;              // of that opcode

    // Passed (directly or inside containers) to a call: see machine::capture.
    [[nodiscard]] bool captured() const noexcept { return (flags_ & captured_flag) != 0; }
    [[nodiscard]] std::int64_t integer() const noexcept { return payload_.integer; }    // integer
    [[nodiscard]] double real() const noexcept { return payload_.real; }                // floating
    [[nodiscard]] bool boolean() const noexcept { return payload_.boolean; }            // boolean
    // str: UTF-8; Python 2 str, bytes, bytearray: raw; big int: little-endian two's complement.
    [[nodiscard]] std::string_view text() const noexcept {
        return (flags_ & text_flag) != 0 ? std::string_view(payload_.text.data, payload_.text.size) : std::string_view();
    }

private:
    friend class graph;
    static constexpr std::uint8_t captured_flag = 1;
    static constexpr std::uint8_t text_flag = 2;   // payload_.text is set
    static constexpr std::uint8_t list_flag = 4;   // payload_.list is set (containers, calls, ids)

    // Ids in the graph's edge pool: [begin, begin + size), room for `capacity` before moving.
    struct edge_list {
        std::uint32_t begin;
        std::uint32_t size;
        std::uint32_t capacity;
        std::uint32_t extra;           // calls: index of their entries and states, or none
    };

    std::uint8_t flags_;
    std::uint32_t aux_;                // blocked: the finding's index; global: the name's index
    union {
        std::int64_t integer;
        double real;
        bool boolean;
        struct {
            const char* data;
            std::size_t size;
        } text;
        edge_list list;
    } payload_;
};

// Owns the nodes, the lists of ids that link them, and the bytes of decoded strings. Nodes and
// kept bytes never move (views stay valid for the graph's life); raw strings may point into the
// pickle input, which the caller keeps alive as long as the graph.
//
// The first nodes are shared constants (None, False, True, the ints 0..255), which the machine
// uses instead of making a node per occurrence: they are immutable in Python too, and most
// scalars of a real pickle are among them.
class graph {
public:
    static constexpr node_id none_id = 0;
    static constexpr node_id false_id = 1;
    static constexpr node_id true_id = 2;
    static constexpr std::int64_t small_int_count = 256;
    static constexpr node_id shared_constants = 3 + small_int_count;
    [[nodiscard]] static constexpr node_id small_int_id(std::int64_t value) noexcept { return static_cast<node_id>(3 + value); }
    [[nodiscard]] static constexpr bool is_small_int(std::int64_t value) noexcept { return value >= 0 && value < small_int_count; }
    [[nodiscard]] static constexpr bool is_shared_constant(node_id id) noexcept { return id < shared_constants; }

    graph() { add_shared_constants(); }
    graph(graph&&) noexcept = default;
    graph& operator=(graph&&) noexcept = default;
    graph(const graph&) = delete;
    graph& operator=(const graph&) = delete;

    // Empties the graph but keeps its memory, for scanning many pickles with one graph: fresh
    // memory costs a page fault per page, reused memory nothing.
    void clear() {
        size_ = 0;
        next_ = chunk_end_ = nullptr;
        edges_.resize(0);
        extras_.clear();
        global_names_.clear();
        findings_.clear();
        text_blocks_.clear();
        text_next_ = nullptr;
        text_room_ = 0;
        root_ = no_node;
        add_shared_constants();
    }

private:
    void add_shared_constants() {
        add(node_kind::none, opcode::NONE, 0);
        add(node_kind::boolean, opcode::NEWFALSE, 0);
        add(node_kind::boolean, opcode::NEWTRUE, 0);
        at(true_id).payload_.boolean = true;
        for (std::int64_t v = 0; v < small_int_count; ++v) set_integer(add(node_kind::integer, opcode::BININT1, 0), v);
    }

public:
    // ---- reading ---------------------------------------------------------------------------------

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] const node& operator[](node_id id) const noexcept {
        const slot where = locate(id);
        return chunks_[where.chunk][where.index];
    }
    [[nodiscard]] node_id root() const noexcept { return root_; }
    void set_root(node_id id) noexcept { root_ = id; }

    // Container items (dict: key, value, key, value... in insertion order), a call's parts
    // (callable, args tuple [, kwargs dict]), a persistent id's id.
    [[nodiscard]] node_ids children(node_id id) const noexcept {
        const node& n = (*this)[id];
        return (n.flags_ & node::list_flag) != 0 ? ids_of(n.payload_.list) : node_ids();
    }
    // For calls: the key, value... pairs SETITEM(S) put in the result (OrderedDict), and the states
    // BUILD applied to it, in order.
    [[nodiscard]] node_ids items(node_id id) const noexcept {
        const call_extras* extras = extras_of(id);
        return extras ? ids_of(extras->items) : node_ids();
    }
    [[nodiscard]] node_ids states(node_id id) const noexcept {
        const call_extras* extras = extras_of(id);
        return extras ? ids_of(extras->states) : node_ids();
    }
    [[nodiscard]] global_name global(node_id id) const noexcept {
        const node& n = (*this)[id];
        return n.kind == node_kind::global ? global_names_[n.aux_] : global_name{};
    }

    [[nodiscard]] const alloc::vector<finding>& findings() const noexcept { return findings_; }
    [[nodiscard]] const finding& finding_of(node_id id) const noexcept { return findings_[(*this)[id].aux_]; }

    // ---- building (the symbolic machine) -----------------------------------------------------------

    node_id add(node_kind kind, opcode origin, std::uint64_t offset) {
        emplace(kind, origin, offset);
        return static_cast<node_id>(size_ - 1);
    }
    // Scalars, made in one go (the hot path of a scan).
    node_id add_integer(opcode origin, std::uint64_t offset, std::int64_t value) {
        emplace(node_kind::integer, origin, offset).payload_.integer = value;
        return static_cast<node_id>(size_ - 1);
    }
    node_id add_real(opcode origin, std::uint64_t offset, double value) {
        emplace(node_kind::floating, origin, offset).payload_.real = value;
        return static_cast<node_id>(size_ - 1);
    }
    // `text` must outlive the graph: the pickle input, or what keep() returned.
    node_id add_text(node_kind kind, opcode origin, std::uint64_t offset, std::string_view text) {
        node& item = emplace(kind, origin, offset);
        item.flags_ = node::text_flag;
        item.payload_.text.data = text.data();
        item.payload_.text.size = text.size();
        return static_cast<node_id>(size_ - 1);
    }

    void set_integer(node_id id, std::int64_t value) noexcept { at(id).payload_.integer = value; }
    void set_real(node_id id, double value) noexcept { at(id).payload_.real = value; }
    void set_boolean(node_id id, bool value) noexcept { at(id).payload_.boolean = value; }
    void set_form(node_id id, call_form form) noexcept { at(id).form = form; }
    // `text` must outlive the graph: the pickle input, or what keep() returned.
    void set_text(node_id id, std::string_view text) noexcept {
        node& n = at(id);
        n.flags_ |= node::text_flag;
        n.payload_.text.data = text.data();
        n.payload_.text.size = text.size();
    }
    void set_global(node_id id, global_name name) {
        at(id).aux_ = static_cast<std::uint32_t>(global_names_.size());
        global_names_.push_back(name);
    }
    void mark_captured(node_id id) noexcept { at(id).flags_ |= node::captured_flag; }

    // Appends to a node's lists. False when the edge pool would outgrow its 32-bit indices (the
    // machine reports that as a limit).
    [[nodiscard]] bool append_children(node_id id, const node_id* ids, std::size_t count) {
        node& n = at(id);
        if ((n.flags_ & node::list_flag) == 0) {
            n.flags_ |= node::list_flag;
            n.payload_.list = node::edge_list{0, 0, 0, no_extras};
        }
        return append(n.payload_.list, ids, count);
    }
    // Drops children past the first `count` (a container or call keeps its first ones): for
    // reconstructions that normalise a value before writing it.
    void truncate_children(node_id id, std::size_t count) noexcept {
        node& n = at(id);
        if ((n.flags_ & node::list_flag) != 0 && count < n.payload_.list.size)
            n.payload_.list.size = static_cast<std::uint32_t>(count);
    }
    [[nodiscard]] bool append_items(node_id id, const node_id* ids, std::size_t count) {
        return append(extras_for(id).items, ids, count);
    }
    [[nodiscard]] bool append_states(node_id id, const node_id* ids, std::size_t count) {
        return append(extras_for(id).states, ids, count);
    }

    // Copies bytes into storage that lives as long as the graph.
    std::string_view keep(byte_view bytes) {
        if (bytes.empty()) return {};
        if (bytes.size() > text_room_) {
            const std::size_t size = bytes.size() > text_block_size ? bytes.size() : text_block_size;
            text_blocks_.emplace_back(size);
            text_next_ = static_cast<char*>(text_blocks_.back().data());
            text_room_ = size;
        }
        std::memcpy(text_next_, bytes.data(), bytes.size());
        const std::string_view kept(text_next_, bytes.size());
        text_next_ += bytes.size();
        text_room_ -= bytes.size();
        return kept;
    }

    // Turns a node into a blocked one in place (every reference sees it) and records why. Never
    // a shared constant: the machine gives a mutated scalar its own node first.
    void block(node_id id, const finding& why) {
        findings_.push_back(why);
        node& item = at(id);
        item.kind = node_kind::blocked;
        item.aux_ = static_cast<std::uint32_t>(findings_.size() - 1);
    }

    // A new blocked node, for refusals that have no existing node to mark.
    node_id add_blocked(const finding& why) {
        const node_id id = add(node_kind::blocked, why.op, why.offset);
        block(id, why);
        return id;
    }

    // Findings about the stream itself (trailing data, misplaced PROTO) that block no node.
    void note(const finding& what) { findings_.push_back(what); }

private:
    static constexpr std::uint32_t no_extras = 0xFFFFFFFFu;
    static constexpr std::size_t max_edges = 0xFFFFFFFFu;

    struct call_extras {
        node::edge_list items{0, 0, 0, no_extras};
        node::edge_list states{0, 0, 0, no_extras};
    };

    // A new node at the end: a pointer bump, and a new chunk when the current one is full.
    node& emplace(node_kind kind, opcode origin, std::uint64_t offset) {
        if (BRINE_UNLIKELY(next_ == chunk_end_)) next_chunk();
        node& item = *::new (next_++) node;  // trivial: no work
        ++size_;
        item.kind = kind;
        item.form = call_form::reduce;
        item.origin = origin;
        item.offset = offset;
        item.flags_ = 0;
        item.aux_ = 0;
        item.payload_.integer = 0;
        return item;
    }

    void next_chunk() {
        const std::size_t chunk = locate(static_cast<node_id>(size_)).chunk;
        if (chunk == blocks_.size()) {
            blocks_.emplace_back(chunk_capacity(chunk) * sizeof(node));
            chunks_.push_back(static_cast<node*>(blocks_.back().data()));
        }
        next_ = chunks_[chunk];
        chunk_end_ = next_ + chunk_capacity(chunk);
    }

    node& at(node_id id) noexcept {
        const slot where = locate(id);
        return chunks_[where.chunk][where.index];
    }

    // Nodes live in chunks that never move (references stay valid while the graph grows). Chunk
    // sizes grow from 4096 nodes (128 KiB: a typical checkpoint's pickle fits) by doubling to
    // 65536 nodes (2 MiB: a huge page), then stay there:
    //   chunk 0: ids [0, 4096), chunk k in 1..4: [2^(11+k), 2^(12+k)), chunk k >= 5: 65536 each.
    static constexpr unsigned first_chunk_bits = 12;
    static constexpr unsigned last_chunk_bits = 16;
    static constexpr std::size_t growing_chunks = last_chunk_bits - first_chunk_bits + 1;

    struct slot {
        std::size_t chunk;
        std::size_t index;
    };

    [[nodiscard]] static slot locate(node_id id) noexcept {
        if (id >= (node_id{1} << last_chunk_bits))
            return {growing_chunks - 1 + (id >> last_chunk_bits), id & ((node_id{1} << last_chunk_bits) - 1)};
        if (id < (node_id{1} << first_chunk_bits)) return {0, id};
        const unsigned width = bit_width(id);
        return {width - first_chunk_bits, id - (node_id{1} << (width - 1))};
    }

    [[nodiscard]] static std::size_t chunks_of(node_id id) noexcept { return locate(id).chunk; }

    [[nodiscard]] static std::size_t chunk_capacity(std::size_t chunk) noexcept {
        if (chunk == 0) return std::size_t{1} << first_chunk_bits;
        if (chunk < growing_chunks) return std::size_t{1} << (first_chunk_bits - 1 + chunk);
        return std::size_t{1} << last_chunk_bits;
    }

    [[nodiscard]] static unsigned bit_width(node_id id) noexcept {
#if defined(__GNUC__) || defined(__clang__)
        return id == 0 ? 0u : 32u - static_cast<unsigned>(__builtin_clz(id));
#else
        unsigned width = 0;
        while (id != 0) {
            ++width;
            id >>= 1;
        }
        return width;
#endif
    }

    [[nodiscard]] node_ids ids_of(const node::edge_list& list) const noexcept {
        return list.size == 0 ? node_ids() : node_ids(edges_.data() + list.begin, list.size);
    }

    [[nodiscard]] const call_extras* extras_of(node_id id) const noexcept {
        const node& n = (*this)[id];
        if ((n.flags_ & node::list_flag) == 0 || n.payload_.list.extra == no_extras) return nullptr;
        return &extras_[n.payload_.list.extra];
    }

    call_extras& extras_for(node_id id) {
        node& n = at(id);
        if ((n.flags_ & node::list_flag) == 0) {
            n.flags_ |= node::list_flag;
            n.payload_.list = node::edge_list{0, 0, 0, no_extras};
        }
        if (n.payload_.list.extra == no_extras) {
            n.payload_.list.extra = static_cast<std::uint32_t>(extras_.size());
            extras_.emplace_back();
        }
        return extras_[n.payload_.list.extra];
    }

    // Lists grow in place while they have room or end the pool; otherwise they move to the end
    // with twice the room, so appending is amortized O(1) however appends to different lists
    // interleave, and the pool holds at most about twice the ids it must.
    bool append(node::edge_list& list, const node_id* ids, std::size_t count) {
        if (count == 0) return true;
        if (list.size + count > list.capacity) {
            const bool at_end = list.begin + std::size_t{list.capacity} == edges_.size();
            const std::size_t wanted = std::size_t{list.size} + count;
            std::size_t capacity = std::size_t{list.capacity} * 2;
            if (capacity < wanted) capacity = wanted;
            if (capacity < 4) capacity = 4;
            if (at_end && list.capacity != 0) {
                if (list.begin + capacity > max_edges) return false;
                edges_.resize(list.begin + capacity);
            } else {
                if (edges_.size() + capacity > max_edges) return false;
                const std::size_t begin = edges_.size();
                edges_.resize(begin + capacity);
                std::memmove(edges_.data() + begin, edges_.data() + list.begin, std::size_t{list.size} * sizeof(node_id));
                list.begin = static_cast<std::uint32_t>(begin);
            }
            list.capacity = static_cast<std::uint32_t>(capacity);
        }
        std::memcpy(edges_.data() + list.begin + list.size, ids, count * sizeof(node_id));
        list.size += static_cast<std::uint32_t>(count);
        return true;
    }

    static constexpr std::size_t text_block_size = 64 * 1024;

    alloc::vector<::brine::detail::raw_block> blocks_;
    alloc::vector<node*> chunks_;        // blocks_[k].data(), for one load per lookup
    node* next_ = nullptr;             // where the next node goes, in the last chunk in use
    node* chunk_end_ = nullptr;
    std::size_t size_ = 0;
    ::brine::detail::pod_array<node_id> edges_;
    alloc::vector<call_extras> extras_;
    alloc::vector<global_name> global_names_;
    alloc::vector<finding> findings_;
    alloc::vector<::brine::detail::raw_block> text_blocks_;
    char* text_next_ = nullptr;
    std::size_t text_room_ = 0;
    node_id root_ = no_node;
};

// Whether a reconstruction leaves `id` out (writes None for it, drops its dict entry): a blocked
// node, or a call or persistent id that a refusal after its creation left without a faithful
// form. A refused mutation blocks its target in place, and that target may be the callable, the
// argument tuple or a direct argument of an earlier call (the machine's rule for calls, applied
// again), or the id tuple of a persistent id or one of its items.
[[nodiscard]] inline bool left_out(const graph& g, node_id id) noexcept {
    const node_kind kind = g[id].kind;
    if (kind == node_kind::blocked) return true;
    if (kind != node_kind::call && kind != node_kind::persistent_id) return false;
    for (const node_id part : g.children(id)) {
        if (g[part].kind == node_kind::blocked) return true;
        for (const node_id item : g.children(part))
            if (g[item].kind == node_kind::blocked) return true;
    }
    return false;
}

}  // namespace pickle
BRINE_NAMESPACE_END
