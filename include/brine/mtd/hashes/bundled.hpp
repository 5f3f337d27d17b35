// SPDX-License-Identifier: MIT
//
// The hashes brine ships, and `bundled`: either of them, chosen at run time (what the command
// line and seal_file, verify_file and restore_file use). The first member is the default.
#pragma once

#include <brine/mtd/hashes/hmac_sha256.hpp>
#include <brine/mtd/hashes/one_of.hpp>
#include <brine/mtd/hashes/sha256.hpp>

BRINE_NAMESPACE_BEGIN
namespace mtd {
namespace hashes {

using bundled = one_of<hmac_sha256, sha256>;

}  // namespace hashes
}  // namespace mtd
BRINE_NAMESPACE_END
