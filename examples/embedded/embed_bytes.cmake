# cmake -DIN=file -DOUT=file.inc -DNAME=identifier -P embed_bytes.cmake
# Writes IN as `const unsigned char NAME[] = {...};` (the image holds the sample; no file system).
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}.tmp" "// Generated from ${IN} by embed_bytes.cmake.\nconst unsigned char ${NAME}[] = {\n${bytes}\n};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
