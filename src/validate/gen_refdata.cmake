# Generate refdata.inc: the reference data compiled into nomsync_validate.
#
# Run as a CMake script:
#
#   cmake -DOUT=<build>/src/validate/refdata.inc -DDATA=<src>/src/validate/data
#         -P gen_refdata.cmake
#
# It reads three CSV files from DATA and writes C static arrays to OUT:
#
#   establishments.csv     code,name,type           -> ns__prisons[] {code, name}
#   probation_regions.csv  delius_code,name,...      -> ns__regions[] {code, name}
#   probation_pdus.csv     pdu_code,pdu_name,region  -> ns__pdus[]    {code, name, region}
#
# The CSV reader follows RFC 4180: fields may be quoted, a quoted field may
# hold commas, newlines and doubled quotes (""), and lines may end in CRLF.
# The text is walked one character at a time and fields are kept in plain
# variables rather than CMake lists, so a ';' in the data cannot split a
# field. Codes must be capitals and digits; anything else stops the build.
# The array element type, ns_ref_entry, is declared in
# include/nomsync/validate.h. Output is written to a
# temporary file and renamed, so a failed run never leaves half a file.

cmake_minimum_required(VERSION 3.18)

if(NOT DEFINED OUT OR NOT DEFINED DATA)
  message(FATAL_ERROR "gen_refdata.cmake: pass -DOUT=<file> and -DDATA=<dir>")
endif()

# Escape VALUE as the body of a C string literal into the variable VAR.
# '?' is escaped too: -std=c11 enables trigraphs.
function(ns_c_escape VAR VALUE)
  string(REPLACE "\\" "\\\\" v "${VALUE}")
  string(REPLACE "\"" "\\\"" v "${v}")
  string(REPLACE "?" "\\?" v "${v}")
  string(REPLACE "\t" "\\t" v "${v}")
  string(REPLACE "\n" "\\n" v "${v}")
  set(${VAR} "${v}" PARENT_SCOPE)
endfunction()

# Parse the CSV file PATH. For each data row (the header row is skipped)
# the fields are left in ROW_0 .. ROW_<n-1>, ROW_N holds n, and the macro
# named by CALLBACK is invoked. Fields never pass through a CMake list.
macro(ns_csv_each PATH CALLBACK)
  file(READ "${PATH}" _csv_text)
  string(LENGTH "${_csv_text}" _csv_len)
  set(_csv_i 0)
  set(_csv_field "")
  set(_csv_nf 0)
  set(_csv_quoted OFF)    # inside a quoted field
  set(_csv_line 1)
  set(_csv_row 0)         # rows completed, header included
  set(_csv_blank ON)      # nothing seen yet on this row
  while(_csv_i LESS_EQUAL _csv_len)
    if(_csv_i EQUAL _csv_len)
      set(_csv_c "EOF")
    else()
      string(SUBSTRING "${_csv_text}" ${_csv_i} 1 _csv_c)
    endif()
    math(EXPR _csv_i "${_csv_i} + 1")
    if(_csv_quoted)
      if(_csv_c STREQUAL "EOF")
        message(FATAL_ERROR "${PATH}:${_csv_line}: unterminated quoted field")
      elseif(_csv_c STREQUAL "\"")
        # A doubled quote is a literal quote; a single one ends the field.
        set(_csv_next "")
        if(_csv_i LESS _csv_len)
          string(SUBSTRING "${_csv_text}" ${_csv_i} 1 _csv_next)
        endif()
        if(_csv_next STREQUAL "\"")
          string(APPEND _csv_field "\"")
          math(EXPR _csv_i "${_csv_i} + 1")
        else()
          set(_csv_quoted OFF)
        endif()
      else()
        if(_csv_c STREQUAL "\n")
          math(EXPR _csv_line "${_csv_line} + 1")
        endif()
        string(APPEND _csv_field "${_csv_c}")
      endif()
    elseif(_csv_c STREQUAL "\"")
      if(NOT _csv_field STREQUAL "")
        message(FATAL_ERROR "${PATH}:${_csv_line}: quote inside an unquoted field")
      endif()
      set(_csv_quoted ON)
      set(_csv_blank OFF)
    elseif(_csv_c STREQUAL ",")
      set(ROW_${_csv_nf} "${_csv_field}")
      math(EXPR _csv_nf "${_csv_nf} + 1")
      set(_csv_field "")
      set(_csv_blank OFF)
    elseif(_csv_c STREQUAL "\r")
      # CR of a CRLF line ending: ignored
    elseif(_csv_c STREQUAL "\n" OR _csv_c STREQUAL "EOF")
      if(NOT _csv_blank OR NOT _csv_field STREQUAL "")
        set(ROW_${_csv_nf} "${_csv_field}")
        math(EXPR ROW_N "${_csv_nf} + 1")
        if(_csv_row GREATER 0)
          set(ROW_LINE ${_csv_line})
          cmake_language(CALL ${CALLBACK})
        endif()
        math(EXPR _csv_row "${_csv_row} + 1")
      endif()
      set(_csv_field "")
      set(_csv_nf 0)
      set(_csv_blank ON)
      math(EXPR _csv_line "${_csv_line} + 1")
    else()
      string(APPEND _csv_field "${_csv_c}")
      set(_csv_blank OFF)
    endif()
  endwhile()
endmacro()

# Stop unless VALUE (column COLUMN of the current row of FILE) is a code.
macro(ns_check_code FILE COLUMN VALUE)
  if(NOT "${VALUE}" MATCHES "^[A-Z0-9]+$")
    message(FATAL_ERROR "${FILE}:${ROW_LINE}: ${COLUMN} '${VALUE}' is not a code of capitals and digits")
  endif()
endmacro()

# Row callbacks: each appends one initialiser line to a C array body.
macro(ns_row_prison)
  if(ROW_N LESS 2)
    message(FATAL_ERROR "establishments.csv:${ROW_LINE}: expected code,name,...")
  endif()
  ns_check_code(establishments.csv code "${ROW_0}")
  ns_c_escape(_name "${ROW_1}")
  string(APPEND PRISONS "\t{ \"${ROW_0}\", \"${_name}\" },\n")
  math(EXPR NPRISONS "${NPRISONS} + 1")
endmacro()

macro(ns_row_region)
  if(ROW_N LESS 2)
    message(FATAL_ERROR "probation_regions.csv:${ROW_LINE}: expected delius_code,name,...")
  endif()
  ns_check_code(probation_regions.csv delius_code "${ROW_0}")
  ns_c_escape(_name "${ROW_1}")
  string(APPEND REGIONS "\t{ \"${ROW_0}\", \"${_name}\" },\n")
  math(EXPR NREGIONS "${NREGIONS} + 1")
endmacro()

macro(ns_row_pdu)
  if(ROW_N LESS 3)
    message(FATAL_ERROR "probation_pdus.csv:${ROW_LINE}: expected pdu_code,pdu_name,region_code")
  endif()
  ns_check_code(probation_pdus.csv pdu_code "${ROW_0}")
  ns_check_code(probation_pdus.csv region_code "${ROW_2}")
  ns_c_escape(_name "${ROW_1}")
  string(APPEND PDUS "\t{ \"${ROW_0}\", \"${_name}\", \"${ROW_2}\" },\n")
  math(EXPR NPDUS "${NPDUS} + 1")
endmacro()

set(PRISONS "")
set(REGIONS "")
set(PDUS "")
set(NPRISONS 0)
set(NREGIONS 0)
set(NPDUS 0)
ns_csv_each("${DATA}/establishments.csv" ns_row_prison)
ns_csv_each("${DATA}/probation_regions.csv" ns_row_region)
ns_csv_each("${DATA}/probation_pdus.csv" ns_row_pdu)
if(NPRISONS EQUAL 0 OR NREGIONS EQUAL 0 OR NPDUS EQUAL 0)
  message(FATAL_ERROR "gen_refdata.cmake: a reference CSV in ${DATA} has no rows")
endif()

set(text "/* Generated by src/validate/gen_refdata.cmake from ${DATA}. Do not edit. */\n\n")
string(APPEND text "/* establishments.csv: ${NPRISONS} establishments */\n")
string(APPEND text "static const ns_ref_entry ns__prisons[] = {\n${PRISONS}};\n\n")
string(APPEND text "/* probation_regions.csv: ${NREGIONS} regions */\n")
string(APPEND text "static const ns_ref_entry ns__regions[] = {\n${REGIONS}};\n\n")
string(APPEND text "/* probation_pdus.csv: ${NPDUS} PDUs */\n")
string(APPEND text "static const ns_ref_entry ns__pdus[] = {\n${PDUS}};\n")

file(WRITE "${OUT}.tmp" "${text}")
file(RENAME "${OUT}.tmp" "${OUT}")
