// SPDX-License-Identifier: MIT
//
// result<T>: a value or an error, for an API that is noexcept and works with -fno-exceptions.
#pragma once

#include <brine/config.hpp>
#include <brine/core/error.hpp>

#include <new>
#include <type_traits>
#include <utility>

#if BRINE_HAS_EXCEPTIONS
#include <stdexcept>
#include <string>
#endif

BRINE_NAMESPACE_BEGIN

#if BRINE_HAS_EXCEPTIONS
// Thrown only by the opt-in throwing conveniences; the library itself never throws.
class exception : public std::runtime_error {
public:
    explicit exception(const error& e)
        : std::runtime_error(describe(e)), error_(e) {}
    [[nodiscard]] const error& err() const noexcept { return error_; }

private:
    static std::string describe(const error& e) {
        std::string text(to_string(e.code));
        text += " at offset ";
        text += std::to_string(e.offset);
        if (!e.entry.empty()) {
            text += " in '";
            text += e.entry.view();
            text += "'";
        }
        if (e.detail && *e.detail) {
            text += ": ";
            text += e.detail;
        }
        return text;
    }
    error error_;
};
#endif

template <class T>
class [[nodiscard]] result {
    static_assert(!std::is_reference_v<T>, "result<T&> is not supported; use a pointer");

public:
    result(const T& value) noexcept(std::is_nothrow_copy_constructible_v<T>) : ok_(true) {  // NOLINT
        ::new (&storage_.value) T(value);
    }
    result(T&& value) noexcept(std::is_nothrow_move_constructible_v<T>) : ok_(true) {  // NOLINT
        ::new (&storage_.value) T(std::move(value));
    }
    result(const error& e) noexcept : ok_(false) { ::new (&storage_.err) error(e); }  // NOLINT

    result(const result& other) : ok_(other.ok_) {
        if (ok_) ::new (&storage_.value) T(other.storage_.value);
        else ::new (&storage_.err) error(other.storage_.err);
    }
    result(result&& other) noexcept(std::is_nothrow_move_constructible_v<T>) : ok_(other.ok_) {
        if (ok_) ::new (&storage_.value) T(std::move(other.storage_.value));
        else ::new (&storage_.err) error(other.storage_.err);
    }
    result& operator=(const result& other) {
        if (this != &other) {
            destroy();
            ok_ = other.ok_;
            if (ok_) ::new (&storage_.value) T(other.storage_.value);
            else ::new (&storage_.err) error(other.storage_.err);
        }
        return *this;
    }
    result& operator=(result&& other) noexcept(std::is_nothrow_move_constructible_v<T>) {
        if (this != &other) {
            destroy();
            ok_ = other.ok_;
            if (ok_) ::new (&storage_.value) T(std::move(other.storage_.value));
            else ::new (&storage_.err) error(other.storage_.err);
        }
        return *this;
    }
    ~result() { destroy(); }

    [[nodiscard]] bool has_value() const noexcept { return ok_; }
    explicit operator bool() const noexcept { return ok_; }

    // Precondition: has_value(). Checked in debug builds.
    [[nodiscard]] T& value() & noexcept { return storage_.value; }
    [[nodiscard]] const T& value() const& noexcept { return storage_.value; }
    [[nodiscard]] T&& value() && noexcept { return std::move(storage_.value); }
    [[nodiscard]] T& operator*() & noexcept { return storage_.value; }
    [[nodiscard]] const T& operator*() const& noexcept { return storage_.value; }
    [[nodiscard]] T* operator->() noexcept { return &storage_.value; }
    [[nodiscard]] const T* operator->() const noexcept { return &storage_.value; }

    // Precondition: !has_value().
    [[nodiscard]] const error& err() const noexcept { return storage_.err; }

#if BRINE_HAS_EXCEPTIONS
    T& value_or_throw() & {
        if (!ok_) throw exception(storage_.err);
        return storage_.value;
    }
    T value_or_throw() && {
        if (!ok_) throw exception(storage_.err);
        return std::move(storage_.value);
    }
#endif

private:
    void destroy() noexcept {
        if (ok_) storage_.value.~T();
        else storage_.err.~error();
    }
    union storage {
        storage() noexcept {}
        ~storage() {}
        T value;
        error err;
    } storage_;
    bool ok_;
};

// The result of an operation with nothing to return.
template <>
class [[nodiscard]] result<void> {
public:
    // Success costs one flag: the error (over 100 bytes) is built only on failure. Every step of
    // every parser returns one of these.
    result() noexcept : ok_(true) {}
    result(const error& e) noexcept : ok_(false) { ::new (&storage_.err) error(e); }  // NOLINT: implicit on purpose
    result(const result& other) noexcept : ok_(other.ok_) {
        if (!ok_) ::new (&storage_.err) error(other.storage_.err);
    }
    result& operator=(const result& other) noexcept {
        ok_ = other.ok_;
        if (!ok_) ::new (&storage_.err) error(other.storage_.err);
        return *this;
    }

    [[nodiscard]] bool has_value() const noexcept { return ok_; }
    explicit operator bool() const noexcept { return ok_; }
    // The error; an empty one (errc::ok) after success.
    [[nodiscard]] const error& err() const noexcept { return ok_ ? no_error_ : storage_.err; }

#if BRINE_HAS_EXCEPTIONS
    void value_or_throw() const {
        if (!ok_) throw exception(storage_.err);
    }
#endif

private:
    static_assert(std::is_trivially_destructible_v<error>, "the union below never destroys its error");
    static constexpr error no_error_{};
    bool ok_;
    union storage {
        storage() noexcept {}
        char none;
        error err;
    } storage_;
};

using status = result<void>;

BRINE_NAMESPACE_END

// BRINE_TRY(expr): evaluate a result-returning expression; on failure return its error from the
// enclosing function (which must return a result of any type).
#define BRINE_TRY(expr)                                      \
    do {                                                     \
        if (auto&& brine_try_result_ = (expr); !brine_try_result_) \
            return brine_try_result_.err();                  \
    } while (false)
