# Reading README.md line by line in CMake, shared by tests/readme/CMakeLists.txt (which registers a
# test per ```cpp block) and run_readme_example.cmake (which compiles one).
#
# A CMake list splits on ';', and '[', ']' and '\' change how it splits; C++ is full of them. So
# each line is stored encoded (those four characters replaced by control characters that cannot
# appear in the README) and decoded only when written to a file.

string(ASCII 1 brine_readme_semicolon)
string(ASCII 2 brine_readme_open_bracket)
string(ASCII 3 brine_readme_close_bracket)
string(ASCII 4 brine_readme_backslash)

# out = the lines of path, encoded; element i is line i + 1 (empty lines kept).
function(brine_readme_lines out path)
    file(READ "${path}" text)
    string(REPLACE "\\" "${brine_readme_backslash}" text "${text}")
    string(REPLACE ";" "${brine_readme_semicolon}" text "${text}")
    string(REPLACE "[" "${brine_readme_open_bracket}" text "${text}")
    string(REPLACE "]" "${brine_readme_close_bracket}" text "${text}")
    string(REPLACE "\r" "" text "${text}")
    string(REPLACE "\n" ";" text "${text}")
    set(${out} "${text}" PARENT_SCOPE)
endfunction()

# out = an encoded line (or text made of them) as it is in the README.
function(brine_readme_decode out text)
    string(REPLACE "${brine_readme_semicolon}" ";" text "${text}")
    string(REPLACE "${brine_readme_open_bracket}" "[" text "${text}")
    string(REPLACE "${brine_readme_close_bracket}" "]" text "${text}")
    string(REPLACE "${brine_readme_backslash}" "\\" text "${text}")
    set(${out} "${text}" PARENT_SCOPE)
endfunction()

# out = the line numbers of the opening fences of ```cpp blocks in the list named lines_var. Other
# fences (```sh, ```cmake, plain ```) are skipped with their contents; an unclosed fence is an error.
function(brine_readme_cpp_fences out lines_var)
    set(fences)
    set(number 0)
    set(open 0)
    foreach(line IN LISTS ${lines_var})
        math(EXPR number "${number} + 1")
        if(open)
            if(line MATCHES "^```[ \t]*$")
                set(open 0)
            endif()
        elseif(line MATCHES "^```")
            set(open ${number})
            if(line MATCHES "^```cpp[ \t]*$")
                list(APPEND fences ${number})
            endif()
        endif()
    endforeach()
    if(open)
        message(FATAL_ERROR "README.md:${open}: this ``` block is never closed")
    endif()
    set(${out} "${fences}" PARENT_SCOPE)
endfunction()
