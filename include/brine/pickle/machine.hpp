// SPDX-License-Identifier: MIT
//
// The symbolic machine: runs a pickle the way CPython's unpickler would — same stack, mark stack
// and memo semantics, same name resolution — but builds a value graph instead of objects and asks
// the Policy before every operation that could run code or change an object. Nothing is ever
// executed or imported. A refused operation becomes a `blocked` node with a finding (name, opcode,
// offset, reason) and evaluation goes on, so one run reports every problem. Malformed streams
// (stack underflow, unknown memo keys, ...) are errors with the offset, like CPython's.
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/pickle/allowlist_concept.hpp>
#include <brine/pickle/amplification.hpp>
#include <brine/pickle/graph_queries.hpp>
#include <brine/pickle/limits.hpp>
#include <brine/pickle/names.hpp>
#include <brine/pickle/opcodes.hpp>
#include <brine/pickle/reader.hpp>
#include <brine/pickle/reader_concept.hpp>
#include <brine/pickle/value.hpp>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace pickle {

struct evaluation {
    graph values;                    // values.root() is what the pickle returns
    std::uint64_t end_offset = 0;    // one past the STOP opcode
    int protocol = 0;                // the protocol in force at STOP (last PROTO; 0 without one)
};

// Reader: the opcode reader (pickle/reader_concept.hpp), constructed once per pickle evaluated;
// its limits_type must be Limits.
template <class Policy, class Limits = limits::standard, class Reader = reader<Limits>>
class machine {
    // Each failed requirement is one error; the class then goes on with stand-ins (a policy that
    // refuses everything, the bundled reader), so nothing else is reported.
    static_assert((policy::check_policy<Policy>(), true));
    static_assert((check_reader<Reader>(), true));
    static_assert(!is_reader_v<Reader> || std::is_same_v<typename reader_or_default<Reader>::limits_type, Limits>,
                  "brine machine: the Reader's limits_type must be the machine's Limits");
    using policy_type = policy::policy_or_default<Policy>;

public:
    explicit machine(const Policy& rules) noexcept : policy_(gate(rules)) {}

    // Evaluates the first pickle in `bytes`. The graph may point into `bytes`: keep it alive.
    [[nodiscard]] result<evaluation> run(byte_view bytes) noexcept {
        evaluation out;
        BRINE_TRY(run(bytes, out));
        return out;
    }

    // The same into `out`, whose memory is reused: for scanning many pickles in a row.
    // `more_follows`: the bytes after STOP are the next part of a stream of pickles (a legacy
    // torch.save file), not trailing data to report.
    [[nodiscard]] status run(byte_view bytes, evaluation& out, bool more_follows = false) noexcept {
        out.values.clear();
        out.end_offset = 0;
        out.protocol = 0;
        graph_ = &out.values;
        input_ = bytes;
        stack_.clear();
        marks_.clear();
        memo_dense_.clear();
        memo_sparse_.clear();
        memo_count_ = 0;
        memo_index_noted_ = false;
        loader_charged_ = 0;
        protocol_ = 0;
        saw_proto_ = false;

        reader_or_default<Reader> tokens(bytes);
        token t;
        for (;;) {
            BRINE_TRY(tokens.next(t));
            if (t.op == opcode::STOP) {
                BRINE_TRY(require_items(1, t));
                graph_->set_root(stack_.back());
                out.end_offset = t.offset + 1;
                out.protocol = protocol_;
                if (out.end_offset < bytes.size() && !more_follows)
                    graph_->note(finding{t.op, out.end_offset, {}, {},
                                         "data after STOP: not part of the object, ignored (never written)"});
                return {};
            }
            BRINE_TRY(step(t));
        }
    }

private:
    // ---- stack and memo, as CPython's Pdata and memo behave ----------------------------------

    [[nodiscard]] std::size_t fence() const noexcept { return marks_.empty() ? 0 : marks_.back(); }

    status require_items(std::size_t count, const token& t) const noexcept {
        if (stack_.size() - fence() < count)
            return error{errc::pickle_stack_underflow, t.offset, "enough values on the stack for this opcode"};
        return {};
    }

    status push(node_id id, const token& t) {
        if (stack_.size() >= Limits::max_stack_size)
            return error{errc::limit_exceeded, t.offset, "a stack within the pickle limits"};
        stack_.push_back(id);
        return {};
    }

    node_id pop() noexcept {
        const node_id top = stack_.back();
        stack_.pop_back();
        return top;
    }

    // The values above the topmost MARK, and the MARK itself, leave the stack.
    result<std::pair<std::size_t, std::size_t>> pop_mark(const token& t) noexcept {
        if (marks_.empty()) return error{errc::pickle_mark_missing, t.offset, "a MARK before this opcode"};
        const std::size_t begin = marks_.back();
        marks_.pop_back();
        return std::pair<std::size_t, std::size_t>{begin, stack_.size()};
    }

    status check_node_room(const token& t) const noexcept {
        if (BRINE_UNLIKELY(graph_->size() >= Limits::max_nodes))
            return error{errc::limit_exceeded, t.offset, "fewer values than the pickle limits allow"};
        return {};
    }

    result<node_id> new_node(node_kind kind, const token& t) {
        BRINE_TRY(check_node_room(t));
        return graph_->add(kind, t.op, t.offset);
    }

    status memo_put(std::uint64_t index, const token& t) {
        BRINE_TRY(require_items(1, t));
        const node_id value = stack_.back();
        // Dense indices (the usual 0, 1, 2...) go in a vector; others (a huge PUT index is legal)
        // in a map, so no index can make the memo allocate in proportion to its value.
        if (index < memo_dense_limit) {
            if (index >= memo_dense_.size()) {
                if (index > memo_dense_.size() + memo_dense_slack) return memo_put_sparse(index, value, t);
                memo_dense_.resize(static_cast<std::size_t>(index) + 1, no_node);
            }
            if (memo_dense_[index] == no_node) {
                // An index stored in the map while it was far past the vector's end moves here:
                // one place per index, or MEMOIZE would number differently from CPython's len(memo).
                if (memo_sparse_.empty() || memo_sparse_.erase(index) == 0) BRINE_TRY(count_memo_entry(t));
            }
            memo_dense_[index] = value;
            return {};
        }
        return memo_put_sparse(index, value, t);
    }

    status memo_put_sparse(std::uint64_t index, node_id value, const token& t) {
        auto [it, inserted] = memo_sparse_.emplace(index, value);
        if (inserted) BRINE_TRY(count_memo_entry(t));
        else it->second = value;
        return {};
    }

    // CPython's _Unpickler_MemoPut grows its memo array of pointers to twice an index past its end
    // (_Unpickler_ResizeMemoList(self, idx * 2), zero-filled): LONG_BINPUT 0xFFFFFFF0 is 5 bytes
    // that make the loader allocate 64 GiB (THREATS.md R5). Picklers number the memo densely from
    // 0, one PUT or MEMOIZE (at least a byte) per entry, so no real pickle has an index as large as
    // its own length; below 2^20 (16 MiB of memo in the loader) nothing is reported, for streams
    // written by a reused Pickler. A finding, not an error: the writer renumbers the memo from 0,
    // so the reconstruction never carries the index. Noted once per pickle: one finding is enough
    // to see it, and a finding per PUT would let the report outgrow the input.
    void note_memo_index(std::uint64_t index, const token& t) {
        const std::uint64_t bound = input_.size() > memo_index_floor ? input_.size() : memo_index_floor;
        if (index < bound || memo_index_noted_) return;
        memo_index_noted_ = true;
        graph_->note(finding{t.op, t.offset, {}, {},
                             "memo index far beyond what a pickler numbers: CPython's loader grows its memo to "
                             "twice the index (8 bytes each), gigabytes; renumbered when written (R5)"});
    }

    status count_memo_entry(const token& t) noexcept {
        if (memo_count_ >= Limits::max_memo_size)
            return error{errc::limit_exceeded, t.offset, "a memo within the pickle limits"};
        ++memo_count_;
        return {};
    }

    result<node_id> memo_get(std::uint64_t index, const token& t) const noexcept {
        if (index < memo_dense_.size() && memo_dense_[index] != no_node) return memo_dense_[index];
        const auto it = memo_sparse_.find(index);
        if (it != memo_sparse_.end()) return it->second;
        return error{errc::pickle_memo_missing, t.offset, "a memo index stored by an earlier PUT or MEMOIZE"};
    }

    // ---- value construction ------------------------------------------------------------------

    // Strings the reader took straight from the input stay views into it; decoded ones (escapes
    // undone) live in the reader's scratch space and are copied.
    std::string_view lasting_text(byte_view data) {
        const auto* first = data.data();
        if (first >= input_.data() && first + data.size() <= input_.data() + input_.size())
            return {reinterpret_cast<const char*>(first), data.size()};
        return graph_->keep(data);
    }

    status push_scalar(node_kind kind, const token& t) {
        switch (kind) {
            case node_kind::none: return push(graph::none_id, t);
            case node_kind::boolean: return push(t.boolean ? graph::true_id : graph::false_id, t);
            case node_kind::integer:
                if (graph::is_small_int(t.integer)) return push(graph::small_int_id(t.integer), t);
                break;
            default: break;
        }
        BRINE_TRY(check_node_room(t));
        switch (kind) {
            case node_kind::integer: return push(graph_->add_integer(t.op, t.offset, t.integer), t);
            case node_kind::floating: return push(graph_->add_real(t.op, t.offset, t.real), t);
            default: return push(graph_->add_text(kind, t.op, t.offset, lasting_text(t.data)), t);
        }
    }

    status push_integer(const token& t) {
        if (t.kind == arg_kind::boolean) return push_scalar(node_kind::boolean, t);
        if (t.kind == arg_kind::big_integer) return push_scalar(node_kind::big_integer, t);
        return push_scalar(node_kind::integer, t);
    }

    status append_children(node_id id, std::size_t begin, std::size_t end, const token& t) {
        if (!graph_->append_children(id, stack_.data() + begin, end - begin)) return too_many_references(t);
        return {};
    }

    static error too_many_references(const token& t) noexcept {
        return error{errc::limit_exceeded, t.offset, "fewer references between values than 2^32"};
    }

    // A container of the values [begin, end) of the stack, which then leave it.
    status push_container(node_kind kind, std::size_t begin, std::size_t end, const token& t) {
        auto id = new_node(kind, t);
        BRINE_TRY(id);
        BRINE_TRY(append_children(*id, begin, end, t));
        stack_.resize(begin);
        return push(*id, t);
    }

    status push_marked_container(node_kind kind, const token& t) {
        auto range = pop_mark(t);
        BRINE_TRY(range);
        if (kind == node_kind::dict && (range->second - range->first) % 2 != 0)
            return error{errc::pickle_odd_items, t.offset, "key/value pairs (an even number of items) for DICT"};
        return push_container(kind, range->first, range->second, t);
    }

    status push_tuple_of_top(std::size_t count, const token& t) {
        BRINE_TRY(require_items(count, t));
        return push_container(node_kind::tuple, stack_.size() - count, stack_.size(), t);
    }

    // ---- names and calls ---------------------------------------------------------------------

    result<node_id> make_global(std::string_view module, std::string_view name, const token& t) {
        // CPython's C unpickler refuses empty names; pickle.py fails to import them.
        if (module.empty() || name.empty()) return error{errc::pickle_bad_argument, t.offset, "a non-empty module and name"};
        const policy::qualified_name resolved = resolve_name(module, name, protocol_);
        const policy::verdict verdict = policy_->allow_global(resolved);
        // Names are kept in the graph's storage: the reader's views die with the next token.
        const std::string_view kept_module = graph_->keep(as_bytes(resolved.module));
        const std::string_view kept_name = graph_->keep(as_bytes(resolved.name));
        if (!verdict.allowed()) {
            if (graph_->size() >= Limits::max_nodes)
                return error{errc::limit_exceeded, t.offset, "fewer values than the pickle limits allow"};
            return graph_->add_blocked(finding{t.op, t.offset, kept_module, kept_name, verdict.refusal});
        }
        auto id = new_node(node_kind::global, t);
        BRINE_TRY(id);
        graph_->set_global(*id, global_name{kept_module, kept_name});
        return *id;
    }

    // callable(args [, kwargs]) in the given form. A blocked callable or a blocked direct argument
    // blocks the call: it could not be rebuilt faithfully.
    result<node_id> make_call(node_id callable, node_id args, node_id kwargs, call_form form, const token& t) {
        auto id = new_node(node_kind::call, t);
        BRINE_TRY(id);
        graph_->set_form(*id, form);
        const node_id parts[] = {callable, args, kwargs};
        if (!graph_->append_children(*id, parts, kwargs == no_node ? 2 : 3)) return too_many_references(t);

        const node& target = (*graph_)[callable];
        if (target.kind == node_kind::blocked) {
            const finding& cause = graph_->finding_of(callable);
            graph_->block(*id, finding{t.op, t.offset, cause.module, cause.name, "call of a refused global"});
            return *id;
        }
        if (target.kind != node_kind::global) {
            graph_->block(*id, finding{t.op, t.offset, {}, {}, "call of a computed value (only globals may be called)"});
            return *id;
        }
        const global_name name = graph_->global(callable);
        for (const node_id part : {args, kwargs}) {
            if (part == no_node) continue;
            if ((*graph_)[part].kind == node_kind::blocked) {
                graph_->block(*id, finding{t.op, t.offset, name.module, name.name, "call with refused arguments"});
                return *id;
            }
            for (const node_id item : graph_->children(part)) {
                if ((*graph_)[item].kind == node_kind::blocked) {
                    graph_->block(*id, finding{t.op, t.offset, name.module, name.name, "call with a refused argument"});
                    return *id;
                }
            }
        }
        const policy::verdict verdict = policy_->allow_call(*graph_, callable, form);
        if (!verdict.allowed()) {
            graph_->block(*id, finding{t.op, t.offset, name.module, name.name, verdict.refusal});
            return *id;
        }
        const std::uint64_t cost = policy::loader_bytes(*graph_, policy::qualified_name{name.module, name.name}, args);
        if (!charge_loader(cost)) {
            graph_->block(*id, finding{t.op, t.offset, name.module, name.name, amplification_reason(cost)});
            return *id;
        }
        capture(args);
        if (kwargs != no_node) capture(kwargs);
        return *id;
    }

    // An allowed call still runs in the loader: what it allocates there (bytearray(n), an array
    // shape, a copy of a memoized container) is charged against the pickle's budget
    // (pickle/amplification.hpp, THREATS.md R5); past it, the call is refused and not charged.
    bool charge_loader(std::uint64_t cost) noexcept {
        const std::uint64_t budget = policy::loader_budget(input_.size());
        if (cost > budget || loader_charged_ > budget - cost) return false;
        loader_charged_ += cost;
        return true;
    }

    // "allocates N bytes in the loader ...", kept in the graph (NUL-terminated) so the finding's
    // reason lives as long as its module and name do.
    const char* amplification_reason(std::uint64_t cost) {
        static constexpr std::string_view head = "allocates ";
        static constexpr std::string_view tail =
            " bytes in the loader, past what this pickle may make it allocate (64 MiB + 64 bytes per "
            "input byte; R5)";
        char text[head.size() + 20 + tail.size() + 1];
        std::memcpy(text, head.data(), head.size());
        char* end = std::to_chars(text + head.size(), text + head.size() + 20, cost).ptr;
        std::memcpy(end, tail.data(), tail.size());
        end += tail.size();
        *end++ = '\0';
        const auto length = static_cast<std::size_t>(end - text);
        return graph_->keep(byte_view{reinterpret_cast<const std::uint8_t*>(text), length}).data();
    }

    // A call sees its arguments as they are now, but the graph holds containers in their final
    // state: a container passed to a call must not change afterwards, or the reconstruction would
    // call with different contents. Marks everything reachable from `id` (each node once; shared
    // constants are immutable and need no mark).
    void capture(node_id id) {
        capture_work_.clear();
        capture_work_.push_back(id);
        while (!capture_work_.empty()) {
            const node_id next = capture_work_.back();
            capture_work_.pop_back();
            if (graph::is_shared_constant(next) || (*graph_)[next].captured()) continue;
            graph_->mark_captured(next);
            for (const node_id child : graph_->children(next)) capture_work_.push_back(child);
            for (const node_id item : graph_->items(next)) capture_work_.push_back(item);
        }
    }

    status require_tuple(node_id id, const token& t, const char* what) const noexcept {
        const node_kind kind = (*graph_)[id].kind;
        if (kind != node_kind::tuple && kind != node_kind::blocked) return error{errc::pickle_bad_argument, t.offset, what};
        return {};
    }

    // ---- mutation ------------------------------------------------------------------------------

    static constexpr policy::verdict mutated_after_call =
        policy::refused("a container changed after it was passed to a call (the call saw it before the change)");

    // A mutation's target, at stack_[slot]. A shared constant (None, a bool, a small int) gets a
    // node of its own first, so that refusing the mutation blocks this reference only: in Python
    // the mutation of such a value fails or does nothing, and every other occurrence is unchanged.
    result<node_id> mutation_target(std::size_t slot, const token& t) {
        const node_id id = stack_[slot];
        if (!graph::is_shared_constant(id)) return id;
        const node& shared = (*graph_)[id];
        auto own = new_node(shared.kind, t);
        BRINE_TRY(own);
        if (shared.kind == node_kind::integer) graph_->set_integer(*own, shared.integer());
        if (shared.kind == node_kind::boolean) graph_->set_boolean(*own, shared.boolean());
        stack_[slot] = *own;
        return *own;
    }

    // A refused mutation blocks its target in place: every reference to it sees the refusal.
    void refuse_mutation(node_id target, const policy::verdict& verdict, const token& t) {
        if ((*graph_)[target].kind == node_kind::blocked) return;
        const policy::qualified_name name = policy::callable_name(*graph_, target);
        graph_->block(target, finding{t.op, t.offset, name.module, name.name, verdict.refusal});
    }

    // The policy's verdict on a mutation, unless the graph could not hold it faithfully: a
    // container changed after a call took it, or a target the writer has no form for (items go
    // to lists and sets, entries to dicts and call results, states to call results).
    template <class Ask>
    policy::verdict judge_mutation(node_id target, bool changes, bool representable, Ask ask) const {
        if ((*graph_)[target].captured() && changes) return mutated_after_call;
        const policy::verdict verdict = ask();
        if (verdict.allowed() && !representable)
            return policy::refused("a mutation of this kind of value cannot be reconstructed");
        return verdict;
    }

    status append_items(std::size_t target_slot, std::size_t begin, std::size_t end, const token& t) {
        auto target = mutation_target(target_slot, t);
        BRINE_TRY(target);
        if ((*graph_)[*target].kind != node_kind::blocked) {
            const node_kind kind = (*graph_)[*target].kind;
            const bool representable = t.op == opcode::ADDITEMS ? kind == node_kind::set : kind == node_kind::list;
            const policy::verdict verdict = judge_mutation(*target, end != begin, representable, [&] {
                return policy_->allow_append(*graph_, *target, t.op);
            });
            if (verdict.allowed()) BRINE_TRY(append_children(*target, begin, end, t));
            else refuse_mutation(*target, verdict, t);
        }
        stack_.resize(begin);
        return {};
    }

    status set_items(std::size_t target_slot, std::size_t begin, std::size_t end, const token& t) {
        if ((end - begin) % 2 != 0)
            return error{errc::pickle_odd_items, t.offset, "key/value pairs (an even number of items) for SETITEMS"};
        auto target = mutation_target(target_slot, t);
        BRINE_TRY(target);
        const node_kind kind = (*graph_)[*target].kind;
        if (kind != node_kind::blocked) {
            const bool representable = kind == node_kind::dict || kind == node_kind::call;
            const policy::verdict verdict = judge_mutation(*target, end != begin, representable, [&] {
                return policy_->allow_setitem(*graph_, *target);
            });
            if (!verdict.allowed()) {
                refuse_mutation(*target, verdict, t);
            } else if (kind == node_kind::dict) {
                BRINE_TRY(append_children(*target, begin, end, t));
            } else if (!graph_->append_items(*target, stack_.data() + begin, end - begin)) {
                return too_many_references(t);
            }
        }
        stack_.resize(begin);
        return {};
    }

    status build(const token& t) {
        BRINE_TRY(require_items(2, t));
        const node_id state = pop();
        auto target = mutation_target(stack_.size() - 1, t);
        BRINE_TRY(target);
        const node_kind kind = (*graph_)[*target].kind;
        if (kind == node_kind::blocked) return {};
        const policy::verdict verdict = judge_mutation(*target, false, kind == node_kind::call, [&] {
            return policy_->allow_build(*graph_, *target);
        });
        if (!verdict.allowed()) {
            refuse_mutation(*target, verdict, t);
            return {};
        }
        if (!graph_->append_states(*target, &state, 1)) return too_many_references(t);
        return {};
    }

    // ---- one opcode ----------------------------------------------------------------------------

    status step(const token& t) {
        switch (t.op) {
            // Framing and protocol
            case opcode::PROTO:
                if (saw_proto_ || t.offset != 0)
                    graph_->note(finding{t.op, t.offset, {}, {}, "PROTO repeated or not at the start of the stream"});
                saw_proto_ = true;
                protocol_ = static_cast<int>(t.integer);
                return {};
            case opcode::FRAME: return {};  // the reader checks frame boundaries

            // Stack manipulation
            case opcode::MARK:
                if (marks_.size() >= Limits::max_mark_depth)
                    return error{errc::limit_exceeded, t.offset, "MARK nesting within the pickle limits"};
                marks_.push_back(stack_.size());
                return {};
            case opcode::POP:
                // CPython: with nothing above the topmost MARK, POP removes that MARK.
                if (!marks_.empty() && marks_.back() == stack_.size()) {
                    marks_.pop_back();
                    return {};
                }
                BRINE_TRY(require_items(1, t));
                stack_.pop_back();
                return {};
            case opcode::POP_MARK: {
                auto range = pop_mark(t);
                BRINE_TRY(range);
                stack_.resize(range->first);
                return {};
            }
            case opcode::DUP:
                BRINE_TRY(require_items(1, t));
                return push(stack_.back(), t);

            // Scalars
            case opcode::NONE: return push_scalar(node_kind::none, t);
            case opcode::NEWTRUE: return push(graph::true_id, t);
            case opcode::NEWFALSE: return push(graph::false_id, t);
            case opcode::INT:
            case opcode::BININT:
            case opcode::BININT1:
            case opcode::BININT2:
            case opcode::LONG:
            case opcode::LONG1:
            case opcode::LONG4: return push_integer(t);
            case opcode::FLOAT:
            case opcode::BINFLOAT: return push_scalar(node_kind::floating, t);
            case opcode::STRING:
            case opcode::BINSTRING:
            case opcode::SHORT_BINSTRING: return push_scalar(node_kind::legacy_string, t);
            case opcode::UNICODE:
            case opcode::BINUNICODE:
            case opcode::SHORT_BINUNICODE:
            case opcode::BINUNICODE8: return push_scalar(node_kind::string, t);
            case opcode::BINBYTES:
            case opcode::SHORT_BINBYTES:
            case opcode::BINBYTES8: return push_scalar(node_kind::bytes, t);
            case opcode::BYTEARRAY8: return push_scalar(node_kind::bytearray, t);

            // Containers
            case opcode::EMPTY_TUPLE: return push_container(node_kind::tuple, stack_.size(), stack_.size(), t);
            case opcode::EMPTY_LIST: return push_container(node_kind::list, stack_.size(), stack_.size(), t);
            case opcode::EMPTY_DICT: return push_container(node_kind::dict, stack_.size(), stack_.size(), t);
            case opcode::EMPTY_SET: return push_container(node_kind::set, stack_.size(), stack_.size(), t);
            case opcode::TUPLE: return push_marked_container(node_kind::tuple, t);
            case opcode::LIST: return push_marked_container(node_kind::list, t);
            case opcode::DICT: return push_marked_container(node_kind::dict, t);
            case opcode::FROZENSET: return push_marked_container(node_kind::frozenset, t);
            case opcode::TUPLE1: return push_tuple_of_top(1, t);
            case opcode::TUPLE2: return push_tuple_of_top(2, t);
            case opcode::TUPLE3: return push_tuple_of_top(3, t);

            // Mutation
            case opcode::APPEND: {
                BRINE_TRY(require_items(2, t));
                return append_items(stack_.size() - 2, stack_.size() - 1, stack_.size(), t);
            }
            case opcode::APPENDS:
            case opcode::ADDITEMS: {
                auto range = pop_mark(t);
                BRINE_TRY(range);
                if (range->first <= fence() || range->first == 0)
                    return error{errc::pickle_stack_underflow, t.offset, "a target below the MARK"};
                return append_items(range->first - 1, range->first, range->second, t);
            }
            case opcode::SETITEM: {
                BRINE_TRY(require_items(3, t));
                return set_items(stack_.size() - 3, stack_.size() - 2, stack_.size(), t);
            }
            case opcode::SETITEMS: {
                auto range = pop_mark(t);
                BRINE_TRY(range);
                if (range->first <= fence() || range->first == 0)
                    return error{errc::pickle_stack_underflow, t.offset, "a target below the MARK"};
                return set_items(range->first - 1, range->first, range->second, t);
            }
            case opcode::BUILD: return build(t);

            // Memo
            case opcode::PUT:
            case opcode::BINPUT:
            case opcode::LONG_BINPUT:
                if (t.integer < 0) return error{errc::pickle_bad_argument, t.offset, "a non-negative memo index"};
                note_memo_index(static_cast<std::uint64_t>(t.integer), t);
                return memo_put(static_cast<std::uint64_t>(t.integer), t);
            case opcode::MEMOIZE: return memo_put(memo_count_, t);
            case opcode::GET:
            case opcode::BINGET:
            case opcode::LONG_BINGET: {
                if (t.integer < 0) return error{errc::pickle_memo_missing, t.offset, "a non-negative memo index"};
                auto value = memo_get(static_cast<std::uint64_t>(t.integer), t);
                BRINE_TRY(value);
                return push(*value, t);
            }

            // Names and calls
            case opcode::GLOBAL: {
                auto id = make_global(t.module, t.name, t);
                BRINE_TRY(id);
                return push(*id, t);
            }
            case opcode::STACK_GLOBAL: {
                BRINE_TRY(require_items(2, t));
                const node_id name = pop();
                const node_id module = pop();
                const node& name_node = (*graph_)[name];
                const node& module_node = (*graph_)[module];
                if (name_node.kind == node_kind::blocked || module_node.kind == node_kind::blocked) {
                    const node_id id = graph_->add_blocked(
                        finding{t.op, t.offset, {}, {}, "STACK_GLOBAL of a name computed by a refused operation"});
                    return push(id, t);
                }
                // CPython requires str operands; a Python 2 str decodes to str under torch.load's
                // default encoding, so it names a global there too. A call's result may be a str
                // at run time (e.g. _codecs.encode(..., 'rot13')): a name computed by running
                // code, so refused, not an error.
                const auto is_text = [](const node& n) {
                    return n.kind == node_kind::string || n.kind == node_kind::legacy_string;
                };
                if (name_node.kind == node_kind::call || module_node.kind == node_kind::call) {
                    const node_id id = graph_->add_blocked(
                        finding{t.op, t.offset, {}, {}, "STACK_GLOBAL of a name computed by a call at load time"});
                    return push(id, t);
                }
                if (!is_text(name_node) || !is_text(module_node))
                    return error{errc::pickle_bad_argument, t.offset, "str operands for STACK_GLOBAL"};
                auto id = make_global(module_node.text(), name_node.text(), t);
                BRINE_TRY(id);
                return push(*id, t);
            }
            case opcode::REDUCE: {
                BRINE_TRY(require_items(2, t));
                const node_id args = pop();
                BRINE_TRY(require_tuple(args, t, "an argument tuple for REDUCE"));
                const node_id callable = pop();
                auto id = make_call(callable, args, no_node, call_form::reduce, t);
                BRINE_TRY(id);
                return push(*id, t);
            }
            case opcode::NEWOBJ: {
                BRINE_TRY(require_items(2, t));
                const node_id args = pop();
                BRINE_TRY(require_tuple(args, t, "an argument tuple for NEWOBJ"));
                const node_id cls = pop();
                auto id = make_call(cls, args, no_node, call_form::newobj, t);
                BRINE_TRY(id);
                return push(*id, t);
            }
            case opcode::NEWOBJ_EX: {
                BRINE_TRY(require_items(3, t));
                const node_id kwargs = pop();
                const node_id args = pop();
                BRINE_TRY(require_tuple(args, t, "an argument tuple for NEWOBJ_EX"));
                const node_kind kwargs_kind = (*graph_)[kwargs].kind;
                if (kwargs_kind != node_kind::dict && kwargs_kind != node_kind::blocked)
                    return error{errc::pickle_bad_argument, t.offset, "a keyword dict for NEWOBJ_EX"};
                const node_id cls = pop();
                auto id = make_call(cls, args, kwargs, call_form::newobj_ex, t);
                BRINE_TRY(id);
                return push(*id, t);
            }
            case opcode::INST: {
                auto range = pop_mark(t);
                BRINE_TRY(range);
                auto args = new_node(node_kind::tuple, t);
                BRINE_TRY(args);
                BRINE_TRY(append_children(*args, range->first, range->second, t));
                stack_.resize(range->first);
                auto cls = make_global(t.module, t.name, t);
                BRINE_TRY(cls);
                auto id = make_call(*cls, *args, no_node, call_form::inst, t);
                BRINE_TRY(id);
                return push(*id, t);
            }
            case opcode::OBJ: {
                auto range = pop_mark(t);
                BRINE_TRY(range);
                if (range->second == range->first)
                    return error{errc::pickle_stack_underflow, t.offset, "a class after the MARK for OBJ"};
                const node_id cls = stack_[range->first];
                auto args = new_node(node_kind::tuple, t);
                BRINE_TRY(args);
                BRINE_TRY(append_children(*args, range->first + 1, range->second, t));
                stack_.resize(range->first);
                auto id = make_call(cls, *args, no_node, call_form::obj, t);
                BRINE_TRY(id);
                return push(*id, t);
            }

            // Persistent ids (how torch refers to storages)
            case opcode::PERSID:
            case opcode::BINPERSID: {
                node_id pid = no_node;
                if (t.op == opcode::PERSID) {
                    auto id = new_node(node_kind::string, t);
                    BRINE_TRY(id);
                    graph_->set_text(*id, lasting_text(t.data));
                    pid = *id;
                } else {
                    BRINE_TRY(require_items(1, t));
                    pid = pop();
                }
                auto id = new_node(node_kind::persistent_id, t);
                BRINE_TRY(id);
                if (!graph_->append_children(*id, &pid, 1)) return too_many_references(t);
                const policy::verdict verdict = (*graph_)[pid].kind == node_kind::blocked
                                                    ? policy::refused("persistent id made of a refused value")
                                                    : policy_->allow_persistent_id(*graph_, pid, t.op);
                if (!verdict.allowed()) {
                    graph_->block(*id, finding{t.op, t.offset, {}, {}, verdict.refusal});
                } else if constexpr (policy::detail::has_resolve_persistent_id<policy_type>) {
                    // A policy may say what an id stands for (module_structure: the class of a
                    // legacy ('module', class, ...) id), as the loader's persistent_load would.
                    const node_id resolved = policy_->resolve_persistent_id(*graph_, pid);
                    if (resolved != no_node) return push(resolved, t);
                }
                return push(*id, t);
            }

            // Never: they reach outside the stream (extension registry, out-of-band buffers).
            case opcode::EXT1:
            case opcode::EXT2:
            case opcode::EXT4:
                return error{errc::pickle_refused_opcode, t.offset,
                             "no EXT opcodes (the extension registry maps codes to arbitrary globals)"};
            case opcode::NEXT_BUFFER:
            case opcode::READONLY_BUFFER:
                return error{errc::pickle_refused_opcode, t.offset, "no out-of-band buffers (protocol 5)"};

            case opcode::STOP: break;  // handled by run()
        }
        return error{errc::pickle_bad_opcode, t.offset, "a known opcode"};
    }

    // Below this, memo indices live in a vector; a PUT far past the current end goes to the map.
    static constexpr std::uint64_t memo_dense_limit = std::uint64_t{1} << 24;
    static constexpr std::uint64_t memo_dense_slack = 1024;
    // Memo indices below this are never reported (note_memo_index).
    static constexpr std::uint64_t memo_index_floor = std::uint64_t{1} << 20;

    [[nodiscard]] static const policy_type* gate(const Policy& rules) noexcept {
        if constexpr (std::is_same_v<policy_type, Policy>) {
            return &rules;
        } else {
            static const policy_type stand_in{};
            return &stand_in;
        }
    }

    const policy_type* policy_;
    graph* graph_ = nullptr;
    byte_view input_;
    alloc::vector<node_id> stack_;
    alloc::vector<std::size_t> marks_;
    alloc::vector<node_id> memo_dense_;
    alloc::unordered_map<std::uint64_t, node_id> memo_sparse_;
    alloc::vector<node_id> capture_work_;
    std::uint64_t memo_count_ = 0;
    std::uint64_t loader_charged_ = 0;  // bytes the allowed calls so far allocate in the loader
    bool memo_index_noted_ = false;
    int protocol_ = 0;
    bool saw_proto_ = false;
};

}  // namespace pickle
BRINE_NAMESPACE_END
