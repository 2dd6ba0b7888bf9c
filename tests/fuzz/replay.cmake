# Corpus regression tests for the normal build: every fuzz harness linked
# with replay.c (a plain main, no libFuzzer) runs each file of
# tests/fuzz/corpus/<name>/ once, crash-* regression inputs included.
# Registered as ctest tests fuzz.replay.<name>. Included from
# tests/CMakeLists.txt:
#
#   if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/replay.cmake)
#     include(${CMAKE_CURRENT_SOURCE_DIR}/fuzz/replay.cmake)
#   endif()
include(${CMAKE_CURRENT_LIST_DIR}/targets.cmake)

foreach(t ${NS_FUZZ_TARGETS})
  add_executable(fuzz_replay_${t} ${NS_FUZZ_DIR}/fuzz_${t}.c ${NS_FUZZ_DIR}/replay.c)
  ns_fuzz_harness(fuzz_replay_${t} ${t})
  add_test(NAME fuzz.replay.${t} COMMAND fuzz_replay_${t} ${NS_FUZZ_DIR}/corpus/${t})
  set_tests_properties(fuzz.replay.${t} PROPERTIES TIMEOUT 300)
endforeach()
