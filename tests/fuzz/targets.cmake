# The fuzz harnesses and how each is compiled and linked; shared by
# CMakeLists.txt (libFuzzer targets fuzz_<name>, NS_FUZZ=ON) and replay.cmake
# (corpus regression tests fuzz.replay.<name>, normal build).
set(NS_FUZZ_TARGETS event message ingest bundle json config roster http jwt)
set(NS_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})
get_filename_component(NS_FUZZ_SRC "${CMAKE_CURRENT_LIST_DIR}/../../src" ABSOLUTE)

# ns_fuzz_harness(TARGET NAME): flags, includes and libraries of harness NAME.
function(ns_fuzz_harness target name)
  target_compile_options(${target} PRIVATE ${NS_WARNINGS})
  target_compile_definitions(${target} PRIVATE ${NS_DEFS} NS_FUZZ_DATA="${NS_FUZZ_DIR}/data")
  target_include_directories(${target} PRIVATE ${NS_FUZZ_SRC} ${NS_FUZZ_DIR})
  target_link_libraries(${target} PRIVATE nomsync_all)
  if(name STREQUAL "http")
    target_link_libraries(${target} PRIVATE nomsync_http)
  elseif(name STREQUAL "message")
    # fuzz_message.c drives the daemon's protocol and commit pipeline
    # (src/daemon/node_int.h) on a node without sockets.
    target_link_libraries(${target} PRIVATE nomsync_daemon)
  elseif(name STREQUAL "jwt")
    target_link_libraries(${target} PRIVATE nomsync_auth)
  endif()
endfunction()
