// SPDX-License-Identifier: MIT
#pragma once
// placeholder: being written
#include <brine/config.hpp>
