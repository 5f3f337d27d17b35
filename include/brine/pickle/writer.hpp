// SPDX-License-Identifier: MIT
//
// The reconstruction writer: a brand-new pickle from the value graph, never a patched copy of the
// input. Canonical: the same graph gives the same bytes; values referenced more than once are
// memoized once, with memo indices assigned 0, 1, 2... in emission order.
//
// Opcodes: protocol 2, restricted to what PyTorch's weights_only unpickler reads (torch 1.13 and
// current), plus BINFLOAT for floats. Values protocol 2 cannot hold without calling a global are
// written with the data opcodes of the protocol that introduced them, and the stream then
// declares that protocol: bytes (protocol 3: BINBYTES), sets and frozensets (protocol 4:
// EMPTY_SET, ADDITEMS, FROZENSET), bytearrays (protocol 5: BYTEARRAY8). No global is ever added
// that the input did not have, so the output passes the policy that accepted the input.
//
// Blocked values are left out: a dict entry whose key or value is blocked is dropped, a blocked
// list, tuple or set item becomes None, and a blocked root is an error. Cycles are written as
// CPython writes them: containers are memoized before their items, and a tuple or call reached
// again while its parts are written is written once nested, the outer copy popped.
//
// The output is written from the root down, so it can nest deeper than the input did: an input
// may build a chain of containers from the innermost out, each referring to the last through
// the memo, with one MARK open at a time. The writer counts the stack and the open MARKs its
// output needs and refuses (limit_exceeded) an output that a machine under the same limits
// would refuse, rather than write a pickle brine itself cannot read back.
#pragma once

#include <brine/config.hpp>
#include <brine/core/allocator.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/result.hpp>
#include <brine/pickle/limits.hpp>
#include <brine/pickle/names.hpp>
#include <brine/pickle/opcodes.hpp>
#include <brine/pickle/value.hpp>

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

BRINE_NAMESPACE_BEGIN
namespace pickle {

struct write_stats {
    std::size_t dropped_entries = 0;   // dict entries removed for a blocked key or value
    std::size_t replaced_items = 0;    // list/tuple/set items and other slots written as None
    int protocol = 2;                  // the protocol the output declares
};

// The machine limits the output must stay within when it is read back.
struct writer_limits {
    std::uint64_t max_stack_size = limits::standard::max_stack_size;
    std::uint64_t max_mark_depth = limits::standard::max_mark_depth;

    template <class Limits>
    [[nodiscard]] static constexpr writer_limits of() noexcept {
        return {Limits::max_stack_size, Limits::max_mark_depth};
    }
};

class writer {
public:
    explicit writer(const graph& values, writer_limits bounds = {}) noexcept : graph_(&values), bounds_(bounds) {}

    // Appends the pickle of the graph's root to `out`.
    [[nodiscard]] result<write_stats> write(alloc::vector<std::uint8_t>& out) {
        const node_id root = graph_->root();
        if (root == no_node || root >= graph_->size())
            return error{errc::invalid_argument, 0, "a graph with a root (an evaluated pickle)"};
        if (is_blocked(root))
            return error{errc::pickle_root_blocked, (*graph_)[root].offset,
                         "a top-level object the policy allows (the whole pickle is the refused value)"};
        out_ = &out;
        stats_ = {};
        BRINE_TRY(count_references(root));
        stats_.protocol = required_protocol();
        memo_index_.assign(graph_->size(), unassigned);
        reentries_.assign(graph_->size(), 0);
        next_memo_ = 0;
        stack_depth_ = 0;
        mark_positions_.clear();
        too_deep_ = false;

        put(opcode::PROTO);
        put_byte(static_cast<std::uint8_t>(stats_.protocol));
        BRINE_TRY(emit(root));
        if (too_deep_) return too_deep_error(root);
        put(opcode::STOP);
        return stats_;
    }

private:
    static constexpr std::uint32_t unassigned = 0xFFFFFFFFu;
    static constexpr std::uint32_t in_progress = 0xFFFFFFFEu;
    static constexpr std::size_t batch = 1000;  // items per APPENDS/SETITEMS, as CPython batches

    // ---- pass 1: which nodes are reached more than once (they get a memo slot) ---------------

    // Counts only the references that will be written: an entry dropped for a blocked key or
    // value, or a refused state, refers to nothing in the output. Otherwise a value shared only
    // through a dropped entry would be memoized, and re-reading the output and writing it again
    // would give different bytes.
    status count_references(node_id root) {
        references_.assign(graph_->size(), 0);
        alloc::vector<node_id> pending{root};
        const auto queue_entries = [&](node_ids entries) {
            for (std::size_t i = 0; i + 1 < entries.size(); i += 2) {
                if (is_blocked(entries[i]) || is_blocked(entries[i + 1])) continue;
                pending.push_back(entries[i]);
                pending.push_back(entries[i + 1]);
            }
        };
        while (!pending.empty()) {
            const node_id id = pending.back();
            pending.pop_back();
            if (references_[id]++ != 0) continue;  // children already queued
            const node& n = (*graph_)[id];
            if (is_blocked(id)) continue;
            if (n.kind == node_kind::dict) {
                queue_entries(graph_->children(id));
            } else {
                for (const node_id child : graph_->children(id)) pending.push_back(child);
            }
            queue_entries(graph_->items(id));
            for (const node_id state : graph_->states(id))
                if (!is_blocked(state)) pending.push_back(state);
            needs_bytes_ = needs_bytes_ || n.kind == node_kind::bytes;
            needs_sets_ = needs_sets_ || n.kind == node_kind::set || n.kind == node_kind::frozenset;
            needs_bytearray_ = needs_bytearray_ || n.kind == node_kind::bytearray;
        }
        return {};
    }

    [[nodiscard]] int required_protocol() const noexcept {
        if (needs_bytearray_) return 5;
        if (needs_sets_) return 4;
        if (needs_bytes_) return 3;
        return 2;
    }

    // ---- output primitives ----------------------------------------------------------------------

    void put(opcode op) {
        out_->push_back(static_cast<std::uint8_t>(op));
        account(op);
    }

    [[nodiscard]] error too_deep_error(node_id at) const {
        return error{errc::limit_exceeded, (*graph_)[at].offset,
                     "a reconstruction whose stack and MARK nesting stay within the pickle limits "
                     "(written from the root down, it nests deeper than the input)"};
    }

    // The opcode's effect on the loader's stack and MARKs, as the machine counts them.
    void account(opcode op) {
        const auto drop = [this](std::uint64_t count) { stack_depth_ -= count < stack_depth_ ? count : stack_depth_; };
        const auto to_mark = [this](std::uint64_t pushed) {
            if (mark_positions_.empty()) return;
            stack_depth_ = mark_positions_.back() + pushed;
            mark_positions_.pop_back();
        };
        switch (op) {
            case opcode::NONE: case opcode::NEWTRUE: case opcode::NEWFALSE: case opcode::BININT:
            case opcode::BININT1: case opcode::BININT2: case opcode::LONG1: case opcode::LONG4:
            case opcode::BINFLOAT: case opcode::BINUNICODE: case opcode::BINUNICODE8:
            case opcode::SHORT_BINSTRING: case opcode::BINSTRING: case opcode::SHORT_BINBYTES:
            case opcode::BINBYTES: case opcode::BINBYTES8: case opcode::BYTEARRAY8: case opcode::GLOBAL:
            case opcode::EMPTY_LIST: case opcode::EMPTY_DICT: case opcode::EMPTY_SET: case opcode::EMPTY_TUPLE:
            case opcode::BINGET: case opcode::LONG_BINGET:
                if (stack_depth_ >= bounds_.max_stack_size) too_deep_ = true;
                ++stack_depth_;
                break;
            case opcode::MARK:
                if (mark_positions_.size() >= bounds_.max_mark_depth) too_deep_ = true;
                mark_positions_.push_back(stack_depth_);
                break;
            case opcode::APPENDS: case opcode::SETITEMS: case opcode::ADDITEMS: case opcode::POP_MARK: to_mark(0); break;
            case opcode::TUPLE: case opcode::FROZENSET: to_mark(1); break;
            case opcode::TUPLE2: case opcode::REDUCE: case opcode::NEWOBJ: case opcode::BUILD: case opcode::POP:
            case opcode::APPEND: drop(1); break;
            case opcode::TUPLE3: case opcode::NEWOBJ_EX: case opcode::SETITEM: drop(2); break;
            default: break;  // PROTO, STOP, TUPLE1, BINPERSID, BINPUT, LONG_BINPUT: no change
        }
    }

    void put_byte(std::uint8_t b) { out_->push_back(b); }
    void put_le32(std::uint32_t v) {
        std::uint8_t b[4];
        store_le32(b, v);
        out_->insert(out_->end(), b, b + 4);
    }
    void put_le64(std::uint64_t v) {
        std::uint8_t b[8];
        store_le64(b, v);
        out_->insert(out_->end(), b, b + 8);
    }
    void put_text(std::string_view text) { out_->insert(out_->end(), text.begin(), text.end()); }

    // Marks a size class an opcode family lacks (BINUNICODE has no 1-byte-length form in
    // protocol 2; BINSTRING none with an 8-byte length).
    static constexpr opcode no_form = opcode::STOP;

    // A length-prefixed value in the shortest form its family has.
    void put_sized(opcode short_op, opcode long_op, opcode huge_op, std::string_view data) {
        if (data.size() < 256 && short_op != no_form) {
            put(short_op);
            put_byte(static_cast<std::uint8_t>(data.size()));
        } else if (data.size() <= 0xFFFFFFFFu) {
            put(long_op);
            put_le32(static_cast<std::uint32_t>(data.size()));
        } else {
            put(huge_op);
            put_le64(data.size());
        }
        put_text(data);
    }

    void put_int(std::int64_t v) {
        if (v >= 0 && v < 256) {
            put(opcode::BININT1);
            put_byte(static_cast<std::uint8_t>(v));
        } else if (v >= 0 && v < 65536) {
            put(opcode::BININT2);
            put_byte(static_cast<std::uint8_t>(v));
            put_byte(static_cast<std::uint8_t>(v >> 8));
        } else if (v >= INT32_MIN && v <= INT32_MAX) {
            put(opcode::BININT);
            put_le32(static_cast<std::uint32_t>(static_cast<std::int32_t>(v)));
        } else {
            // Minimal little-endian two's complement, as LONG1 wants it.
            std::uint8_t b[8];
            store_le64(b, static_cast<std::uint64_t>(v));
            std::size_t n = 8;
            while (n > 1 && ((b[n - 1] == 0x00 && (b[n - 2] & 0x80) == 0) || (b[n - 1] == 0xFF && (b[n - 2] & 0x80) != 0)))
                --n;
            put(opcode::LONG1);
            put_byte(static_cast<std::uint8_t>(n));
            out_->insert(out_->end(), b, b + n);
        }
    }

    void put_big_int(std::string_view twos_complement) {
        if (twos_complement.size() < 256) {
            put(opcode::LONG1);
            put_byte(static_cast<std::uint8_t>(twos_complement.size()));
        } else {
            put(opcode::LONG4);
            put_le32(static_cast<std::uint32_t>(twos_complement.size()));
        }
        put_text(twos_complement);
    }

    void put_float(double v) {
        std::uint64_t bits;
        std::memcpy(&bits, &v, 8);
        put(opcode::BINFLOAT);
        std::uint8_t b[8];
        store_be64(b, bits);  // BINFLOAT is big-endian, unlike every other number in a pickle
        out_->insert(out_->end(), b, b + 8);
    }

    void put_memo(node_id id) {
        const std::uint32_t index = next_memo_++;
        memo_index_[id] = index;
        if (index < 256) {
            put(opcode::BINPUT);
            put_byte(static_cast<std::uint8_t>(index));
        } else {
            put(opcode::LONG_BINPUT);
            put_le32(index);
        }
    }

    void put_get(std::uint32_t index) {
        if (index < 256) {
            put(opcode::BINGET);
            put_byte(static_cast<std::uint8_t>(index));
        } else {
            put(opcode::LONG_BINGET);
            put_le32(index);
        }
    }

    status put_global(node_id id) {
        const global_name name = graph_->global(id);
        const std::uint64_t offset = (*graph_)[id].offset;
        // Under protocol 2 the loader maps Python 2 names; only names it leaves alone can be written.
        const policy::qualified_name loaded = resolve_name(name.module, name.name, stats_.protocol);
        if (loaded.module != name.module || loaded.name != name.name)
            return error{errc::pickle_unwritable, offset, "a global name the protocol-2 loader does not rename"};
        if (name.module.find('\n') != std::string_view::npos || name.name.find('\n') != std::string_view::npos)
            return error{errc::pickle_unwritable, offset, "a global name without newlines"};
        put(opcode::GLOBAL);
        put_text(name.module);
        put_byte('\n');
        put_text(name.name);
        put_byte('\n');
        return {};
    }

    // ---- pass 2: emission, iterative so no input can exhaust the native stack ------------------

    // A node being written: `next` walks its slots (children, then for calls items and states).
    struct frame {
        node_id id;
        std::size_t next = 0;
        std::size_t batch = 0;       // items in the open APPENDS/SETITEMS/ADDITEMS batch
        bool batch_open = false;
        bool batch_single = false;   // a batch of one item: no MARK, closed by APPEND/SETITEM
        bool batched = false;        // a batch was opened before
        bool called = false;         // a call's REDUCE/NEWOBJ is written
        bool pending_build = false;  // a BUILD state was just written: BUILD follows
        bool superseded = false;     // a nested copy of this node was written instead
    };

    [[nodiscard]] bool is_blocked(node_id id) const noexcept { return left_out(*graph_, id); }

    // Shared values get a memo slot, and so does everything a mutation can make part of a cycle
    // (lists, dicts, sets, calls with SETITEM entries or BUILD states), as CPython memoizes every
    // object: then every cycle meets a memoized node the second time round.
    [[nodiscard]] bool memoized(node_id id) const noexcept {
        if (shared(id)) return true;
        switch ((*graph_)[id].kind) {
            case node_kind::list:
            case node_kind::dict:
            case node_kind::set: return true;
            case node_kind::call: return writes_mutations(id);
            default: return false;
        }
    }

    // Whether any SETITEM entry or BUILD state of a call survives (blocked ones are left out):
    // only then is the call memoized, so that re-reading the output and writing it again gives
    // the same bytes.
    [[nodiscard]] bool writes_mutations(node_id id) const noexcept {
        const node_ids items = graph_->items(id);
        for (std::size_t i = 0; i + 1 < items.size(); i += 2)
            if (!is_blocked(items[i]) && !is_blocked(items[i + 1])) return true;
        for (const node_id state : graph_->states(id))
            if (!is_blocked(state)) return true;
        return false;
    }

    // Reached more than once. The graph's shared constants (None, bools, small ints) stand for
    // many occurrences but are written anew each time, as CPython's pickler writes them.
    [[nodiscard]] bool shared(node_id id) const noexcept {
        return references_[id] > 1 && !graph::is_shared_constant(id);
    }

    // Writes None for a blocked slot; true when it did.
    bool replace_blocked(node_id id) {
        if (!is_blocked(id)) return false;
        put(opcode::NONE);
        ++stats_.replaced_items;
        return true;
    }

    status emit(node_id root) {
        alloc::vector<frame> work;
        work.push_back(frame{root});
        bool fresh = true;  // the top frame has not been opened yet
        while (!work.empty()) {
            if (too_deep_) return too_deep_error(work.back().id);
            if (fresh) {
                fresh = false;
                const node_id id = work.back().id;
                const std::uint32_t memo = memo_index_[id];
                if (memo != unassigned && memo != in_progress) {
                    put_get(memo);
                    work.pop_back();
                    continue;
                }
                if (replace_blocked(id)) {
                    work.pop_back();
                    continue;
                }
                // A tuple or call reached again while its parts are being written: the cycle runs
                // through a list, dict or call result that is already memoized, so writing it
                // once more (nested) ends; the outer copy is then popped (see close()).
                if (memo == in_progress && ++reentries_[id] > 2)
                    return error{errc::pickle_unwritable, (*graph_)[id].offset,
                                 "a cycle that passes through a memoizable container"};
                auto complete = open(id);
                BRINE_TRY(complete);
                if (*complete) {
                    work.pop_back();
                    continue;
                }
            }
            const node_id child = advance(work.back());
            if (child != no_node) {
                work.push_back(frame{child});
                fresh = true;
                continue;
            }
            close(work.back());
            work.pop_back();
        }
        return {};
    }

    // Writes what comes before a node's slots. True when the node is already complete (scalars).
    result<bool> open(node_id id) {
        const node& n = (*graph_)[id];
        switch (n.kind) {
            case node_kind::none: put(opcode::NONE); break;
            case node_kind::boolean: put(n.boolean() ? opcode::NEWTRUE : opcode::NEWFALSE); break;
            case node_kind::integer: put_int(n.integer()); break;
            case node_kind::big_integer: put_big_int(n.text()); break;
            case node_kind::floating: put_float(n.real()); break;
            case node_kind::string: put_sized(no_form, opcode::BINUNICODE, opcode::BINUNICODE8, n.text()); break;
            case node_kind::legacy_string:
                if (n.text().size() > 0x7FFFFFFFu)
                    return error{errc::pickle_unwritable, n.offset, "a Python 2 str under 2 GiB"};
                put_sized(opcode::SHORT_BINSTRING, opcode::BINSTRING, no_form, n.text());
                break;
            case node_kind::bytes: put_sized(opcode::SHORT_BINBYTES, opcode::BINBYTES, opcode::BINBYTES8, n.text()); break;
            case node_kind::bytearray:
                put(opcode::BYTEARRAY8);
                put_le64(n.text().size());
                put_text(n.text());
                break;
            case node_kind::global: BRINE_TRY(put_global(id)); break;
            case node_kind::list:
            case node_kind::dict:
            case node_kind::set:
                // Mutable: created empty and memoized before its items, which may refer back to it.
                put(n.kind == node_kind::list ? opcode::EMPTY_LIST
                                              : n.kind == node_kind::dict ? opcode::EMPTY_DICT : opcode::EMPTY_SET);
                if (memoized(id)) put_memo(id);
                return false;
            case node_kind::tuple:
            case node_kind::frozenset:
            case node_kind::call:
            case node_kind::persistent_id:
                // Immutable: built from its parts, so it must not (indirectly) contain itself.
                if (marked(id)) put(opcode::MARK);
                memo_index_[id] = in_progress;
                return false;
            case node_kind::blocked: break;  // written as None by the caller
        }
        if (shared(id)) put_memo(id);
        return true;
    }

    // The next slot of a node to write, writing the opcodes between slots; no_node when done.
    node_id advance(frame& f) {
        const node_ids children = graph_->children(f.id);
        switch ((*graph_)[f.id].kind) {
            case node_kind::list: return next_item(f, children, opcode::APPENDS);
            case node_kind::set: return next_item(f, children, opcode::ADDITEMS);
            case node_kind::dict: return next_entry(f, children, false);
            case node_kind::tuple:
            case node_kind::frozenset:
            case node_kind::persistent_id:
                while (f.next < children.size()) {
                    const node_id child = children[f.next++];
                    if (!replace_blocked(child)) return child;
                }
                return no_node;
            case node_kind::call: return next_call_slot(f);
            default: return no_node;
        }
    }

    // List and set items, in batches: MARK item... APPENDS (or ADDITEMS). A list of one item is
    // item APPEND, as CPython's pickler writes it (a set has no such form).
    node_id next_item(frame& f, node_ids items, opcode closing) {
        while (f.next < items.size()) {
            open_batch(f, closing, closing == opcode::APPENDS && items.size() == 1);
            ++f.batch;
            const node_id child = items[f.next++];
            if (!replace_blocked(child)) return child;
        }
        close_batch(f, closing);
        return no_node;
    }

    // Dict entries (key, value pairs), in batches: MARK key value... SETITEMS. An entry with a
    // blocked key or value is left out whole. A single entry is key value SETITEM, as CPython's
    // pickler writes it: for a dict, when it is the only entry; for the entries a call's result
    // receives (an OrderedDict's items, which CPython writes from an iterator), when it is the
    // only one left for its batch.
    node_id next_entry(frame& f, node_ids entries, bool single_per_batch) {
        while (f.next < entries.size()) {
            if (f.next % 2 == 1) return entries[f.next++];  // the value of the entry begun
            if (f.next + 1 >= entries.size()) break;         // an odd tail: the machine refuses those
            if (is_blocked(entries[f.next]) || is_blocked(entries[f.next + 1])) {
                ++stats_.dropped_entries;
                f.next += 2;
                continue;
            }
            const bool alone = (single_per_batch || !f.batched) && !writable_entry_after(entries, f.next);
            open_batch(f, opcode::SETITEMS, alone);
            ++f.batch;
            return entries[f.next++];
        }
        close_batch(f, opcode::SETITEMS);
        return no_node;
    }

    // A call: its parts (callable, args [, kwargs]), its opcode, then the entries SETITEM put in
    // its result, then each BUILD state followed by BUILD — the order CPython's pickler uses.
    node_id next_call_slot(frame& f) {
        const node_ids children = graph_->children(f.id);
        const node_ids items = graph_->items(f.id);
        const node_ids states = graph_->states(f.id);
        const std::size_t parts = children.size();
        if (f.next < parts) return children[f.next++];
        if (!f.called) {
            const std::uint32_t memo = memo_index_[f.id];
            if (memo != in_progress && memo != unassigned) {
                // A nested copy wrote the whole call already: drop our parts, refer to it.
                for (std::size_t i = 0; i < parts; ++i) put(opcode::POP);
                put_get(memo);
                f.superseded = true;
                return no_node;
            }
            put_call_opcode((*graph_)[f.id]);
            f.called = true;
            // Memoized now, before its items and states, which may refer back to it.
            if (memoized(f.id)) put_memo(f.id);
        }
        const std::size_t items_end = parts + items.size();
        if (f.next < items_end) {
            frame entries = f;
            entries.next = f.next - parts;
            const node_id child = next_entry(entries, items, true);
            f.next = entries.next + parts;
            f.batch = entries.batch;
            f.batch_open = entries.batch_open;
            f.batch_single = entries.batch_single;
            f.batched = entries.batched;
            if (child != no_node) return child;
        }
        close_batch(f, opcode::SETITEMS);
        if (f.pending_build) {
            put(opcode::BUILD);
            f.pending_build = false;
        }
        while (f.next < items_end + states.size()) {
            const node_id state = states[f.next++ - items_end];
            if (is_blocked(state)) {
                ++stats_.replaced_items;  // the refused state is not applied at all
                continue;
            }
            f.pending_build = true;
            return state;
        }
        return no_node;
    }

    // Opens a batch unless one with room is open. `alone`: a new batch would hold only the item
    // about to be written, so it is written without MARK and closed by APPEND/SETITEM.
    void open_batch(frame& f, opcode closing, bool alone) {
        if (f.batch_open && f.batch == batch) close_batch(f, closing);
        if (!f.batch_open) {
            f.batched = true;
            f.batch_single = alone;
            if (!alone) put(opcode::MARK);
            f.batch_open = true;
            f.batch = 0;
        }
    }

    void close_batch(frame& f, opcode closing) {
        if (!f.batch_open) return;
        if (!f.batch_single) put(closing);
        else put(closing == opcode::SETITEMS ? opcode::SETITEM : opcode::APPEND);
        f.batch_open = false;
        f.batch_single = false;
        f.batch = 0;
    }

    // Whether an entry after the one at `at` is written (neither its key nor value is blocked).
    [[nodiscard]] bool writable_entry_after(node_ids entries, std::size_t at) const noexcept {
        for (std::size_t i = at + 2; i + 1 < entries.size(); i += 2)
            if (!is_blocked(entries[i]) && !is_blocked(entries[i + 1])) return true;
        return false;
    }

    void put_call_opcode(const node& n) {
        switch (n.form) {
            case call_form::newobj: put(opcode::NEWOBJ); break;
            case call_form::newobj_ex: put(opcode::NEWOBJ_EX); break;
            case call_form::reduce:
            case call_form::inst:
            case call_form::obj: put(opcode::REDUCE); break;
        }
    }

    // Writes what ends a node built from its parts, then memoizes it if it is shared. If a nested
    // copy of the node was written meanwhile (a cycle), the parts on the stack are popped and the
    // memoized copy is used, as CPython's pickler does.
    void close(const frame& f) {
        const node_id id = f.id;
        const node& n = (*graph_)[id];
        if (f.superseded) return;
        switch (n.kind) {
            case node_kind::list:
            case node_kind::dict:
            case node_kind::set: return;  // memoized when opened
            case node_kind::call:
                if (!memoized(id)) memo_index_[id] = unassigned;
                return;  // memoized after its opcode
            default: break;
        }
        const std::uint32_t memo = memo_index_[id];
        if (memo != in_progress && memo != unassigned) {
            if (marked(id)) {
                put(opcode::POP_MARK);
            } else {
                for (std::size_t i = 0; i < graph_->children(id).size(); ++i) put(opcode::POP);
            }
            put_get(memo);
            return;
        }
        switch (n.kind) {
            case node_kind::tuple:
                switch (graph_->children(id).size()) {
                    case 0: put(opcode::EMPTY_TUPLE); break;
                    case 1: put(opcode::TUPLE1); break;
                    case 2: put(opcode::TUPLE2); break;
                    case 3: put(opcode::TUPLE3); break;
                    default: put(opcode::TUPLE); break;
                }
                break;
            case node_kind::frozenset: put(opcode::FROZENSET); break;
            case node_kind::persistent_id: put(opcode::BINPERSID); break;
            default: break;
        }
        memo_index_[id] = unassigned;
        if (shared(id)) put_memo(id);
    }

    // Built from a MARK: frozensets, and tuples too long for TUPLE1/2/3.
    [[nodiscard]] bool marked(node_id id) const noexcept {
        const node_kind kind = (*graph_)[id].kind;
        return kind == node_kind::frozenset || (kind == node_kind::tuple && graph_->children(id).size() > 3);
    }

    const graph* graph_;
    writer_limits bounds_;
    alloc::vector<std::uint8_t>* out_ = nullptr;
    std::uint64_t stack_depth_ = 0;
    alloc::vector<std::uint64_t> mark_positions_;  // the stack depth at each open MARK
    bool too_deep_ = false;
    alloc::vector<std::uint32_t> references_;
    alloc::vector<std::uint32_t> memo_index_;
    alloc::vector<std::uint8_t> reentries_;
    std::uint32_t next_memo_ = 0;
    write_stats stats_;
    bool needs_bytes_ = false;
    bool needs_sets_ = false;
    bool needs_bytearray_ = false;
};

}  // namespace pickle
BRINE_NAMESPACE_END
