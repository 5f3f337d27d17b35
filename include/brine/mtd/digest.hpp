// SPDX-License-Identifier: MIT
//
// The chunk digests that let `verify` say where a record changed, made under the seal's Hash
// (mtd/hash.hpp), and the hexadecimal form of a digest in the manifest.
//
// Every digest is taken over a domain label and the position of what it covers, so a digest of
// one thing cannot stand in for another: a chunk digest covers (record index, chunk index,
// bytes), and moving a chunk or a record changes it.
#pragma once

#include <brine/config.hpp>
#include <brine/core/bytes.hpp>
#include <brine/core/hex.hpp>
#include <brine/core/memory.hpp>
#include <brine/core/result.hpp>
#include <brine/crypto/sha256.hpp>
#include <brine/mtd/hash.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#if BRINE_HAS_THREADS
#include <condition_variable>
#include <mutex>
#include <thread>
#endif

BRINE_NAMESPACE_BEGIN
namespace mtd {

// Lowercase hexadecimal of a digest, and back (exactly 64 lowercase digits).
[[nodiscard]] inline std::string to_hex(byte_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    append_hex(out, bytes);
    return out;
}
[[nodiscard]] inline std::string to_hex(const digest& d) { return to_hex(byte_view(d.data(), d.size())); }
[[nodiscard]] inline bool from_hex(std::string_view text, digest& out) noexcept {
    return parse_hex(text, mutable_byte_view(out.data(), out.size()));
}

// The digest of chunk `index` of record `record`: label, positions, then the bytes.
template <class Digester>
inline void begin_chunk(Digester& d, std::uint64_t record, std::uint64_t index) noexcept {
    d.update(std::string_view("brine/chunk"));
    d.update_u64(record);
    d.update_u64(index);
}

[[nodiscard]] constexpr std::uint64_t chunk_count(std::uint64_t size, std::uint64_t chunk_size) noexcept {
    return size == 0 ? 1 : (size + chunk_size - 1) / chunk_size;  // an empty record has one empty chunk
}

// Digests of fixed-size chunks under Hash of a sequence of records, fed in order through update().
//
// `jobs` is the number of threads that hash, the caller's included. With jobs > 1, full chunks
// are copied into a small pool of buffers and hashed by jobs - 1 worker threads while the caller
// goes on reading and writing; when the workers fall behind, the caller hashes the chunk in hand
// itself rather than wait (on two cores, a third thread waiting for a buffer only loses time).
// Memory: 2 x jobs chunks, in one block offered to huge pages (first touch of 4 KiB pages is
// slow on virtual machines). With jobs <= 1 (or without threads) bytes are hashed as they pass,
// with no copy.
template <class Hash>
class chunk_hasher {
public:
    // `chosen`: the hash, selected; `digest_key`: the seal's digest key.
    chunk_hasher(const Hash& chosen, const digest& digest_key, std::uint64_t chunk_size, unsigned jobs)
        : hash_(chosen), key_(digest_key), chunk_size_(chunk_size), inline_(chosen, digest_key) {
#if BRINE_HAS_THREADS
        if (jobs > 1) start_workers(jobs - 1);
#else
        (void)jobs;
#endif
    }
    chunk_hasher(const chunk_hasher&) = delete;
    chunk_hasher& operator=(const chunk_hasher&) = delete;
    ~chunk_hasher() { stop_workers(); }

    // Starts the next record (digests()[0], [1]... in call order) of `size` bytes, at index
    // `position` of its manifest (what its chunk digests are bound to).
    void begin_record(std::uint64_t size, std::uint64_t position) {
        label_ = position;
        // Workers store results into digests_ under the mutex: growing it must hold it too.
        {
#if BRINE_HAS_THREADS
            std::lock_guard<std::mutex> lock(mutex_);
#endif
            record_ = digests_.size();
            digests_.emplace_back(static_cast<std::size_t>(chunk_count(size, chunk_size_)));
        }
        chunk_ = 0;
        filled_ = 0;
        if (threaded()) next_buffer();
        else begin_chunk(inline_, label_, chunk_);
    }

    void update(byte_view bytes) {
        while (!bytes.empty()) {
            if (filled_ == chunk_size_) close_chunk(true);
            const std::size_t room = static_cast<std::size_t>(chunk_size_ - filled_);
            const std::size_t take = bytes.size() < room ? bytes.size() : room;
            if (threaded()) std::memcpy(buffer_->bytes + filled_, bytes.data(), take);
            else inline_.update(bytes.subview(0, take));
            filled_ += take;
            bytes = bytes.subview(take);
        }
    }

    // Ends the current record; its chunk count must match the size given to begin_record.
    void end_record() { close_chunk(false); }

    // Waits for every chunk; digests()[record][chunk].
    const std::vector<std::vector<digest>>& finish() {
#if BRINE_HAS_THREADS
        if (threaded()) {
            std::unique_lock<std::mutex> lock(mutex_);
            idle_.wait(lock, [&] { return queue_.empty() && busy_ == 0; });
        }
#endif
        return digests_;
    }

private:
    struct buffer {
        std::uint8_t* bytes = nullptr;
        std::uint64_t record = 0, label = 0, chunk = 0, size = 0;
    };

    [[nodiscard]] bool threaded() const noexcept { return !workers_.empty(); }

    void store(std::uint64_t record, std::uint64_t chunk, const digest& value) {
        digests_[static_cast<std::size_t>(record)][static_cast<std::size_t>(chunk)] = value;
    }

    // Hands the current chunk on (or finishes it here), then opens the next one if `more`.
    void close_chunk(bool more) {
        if (threaded()) {
#if BRINE_HAS_THREADS
            buffer_->record = record_;
            buffer_->label = label_;
            buffer_->chunk = chunk_;
            buffer_->size = filled_;
            std::unique_lock<std::mutex> lock(mutex_);
            if (queue_.size() < workers_.size()) {
                queue_.push_back(buffer_);
                lock.unlock();
                work_.notify_one();
                buffer_ = nullptr;
            } else {
                // The workers are behind: hash this one here, and keep its buffer.
                lock.unlock();
                begin_chunk(inline_, label_, chunk_);
                inline_.update(byte_view(buffer_->bytes, static_cast<std::size_t>(filled_)));
                const digest value = inline_.finish();
                lock.lock();
                store(record_, chunk_, value);
            }
#endif
        } else {
            store(record_, chunk_, inline_.finish());
        }
        if (!more) {
#if BRINE_HAS_THREADS
            if (buffer_) {
                std::lock_guard<std::mutex> lock(mutex_);
                free_.push_back(buffer_);
                buffer_ = nullptr;
            }
#endif
            return;
        }
        ++chunk_;
        {
#if BRINE_HAS_THREADS
            std::lock_guard<std::mutex> lock(mutex_);
#endif
            // More bytes than begin_record announced: keep a digest for them (verify compares).
            std::vector<digest>& chunks = digests_[static_cast<std::size_t>(record_)];
            if (chunk_ >= chunks.size()) chunks.resize(static_cast<std::size_t>(chunk_ + 1));
        }
        filled_ = 0;
        if (threaded()) next_buffer();
        else begin_chunk(inline_, label_, chunk_);
    }

#if BRINE_HAS_THREADS
    void start_workers(unsigned workers) {
        const std::size_t buffers = 2 * (std::size_t{workers} + 1);
        block_ = brine::detail::raw_block(buffers * static_cast<std::size_t>(chunk_size_));
        pool_.resize(buffers);
        for (std::size_t i = 0; i < buffers; ++i) {
            pool_[i].bytes = static_cast<std::uint8_t*>(block_.data()) + i * static_cast<std::size_t>(chunk_size_);
            free_.push_back(&pool_[i]);
        }
        for (unsigned i = 0; i < workers; ++i) workers_.emplace_back([this] { work(); });
    }

    void next_buffer() {
        if (buffer_) return;  // kept from a chunk hashed here
        std::unique_lock<std::mutex> lock(mutex_);
        freed_.wait(lock, [&] { return !free_.empty(); });
        buffer_ = free_.back();
        free_.pop_back();
    }

    void work() {
        basic_digester<Hash> d(hash_, key_);
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping, and nothing left
            buffer* job = queue_.front();
            queue_.erase(queue_.begin());
            ++busy_;
            lock.unlock();
            begin_chunk(d, job->label, job->chunk);
            d.update(byte_view(job->bytes, static_cast<std::size_t>(job->size)));
            const digest value = d.finish();
            lock.lock();
            store(job->record, job->chunk, value);
            free_.push_back(job);
            --busy_;
            freed_.notify_one();
            if (queue_.empty() && busy_ == 0) idle_.notify_all();
        }
    }

    void stop_workers() {
        if (workers_.empty()) return;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        work_.notify_all();
        for (std::thread& t : workers_) t.join();
        workers_.clear();
    }
#else
    void next_buffer() {}
    void stop_workers() {}
#endif

    Hash hash_;
    digest key_;
    std::uint64_t chunk_size_;
    basic_digester<Hash> inline_;
    std::vector<std::vector<digest>> digests_;
    std::uint64_t record_ = 0, label_ = 0, chunk_ = 0, filled_ = 0;
    buffer* buffer_ = nullptr;
#if BRINE_HAS_THREADS
    brine::detail::raw_block block_;
    std::vector<buffer> pool_;
    std::vector<buffer*> free_;
    std::vector<buffer*> queue_;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable work_, freed_, idle_;
    unsigned busy_ = 0;
    bool stopping_ = false;
#else
    std::vector<int> workers_;
#endif
};

}  // namespace mtd
BRINE_NAMESPACE_END
