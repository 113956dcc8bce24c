# mxring_check_headers(<target> <include-dir>): compiles every public header of <target> alone,
# so each one includes what it uses. All such checks hang off the `check-headers` target.
if(NOT TARGET check-headers)
  add_custom_target(check-headers)
endif()

function(mxring_check_headers target include_dir)
  file(GLOB_RECURSE headers RELATIVE ${include_dir} CONFIGURE_DEPENDS ${include_dir}/*.h)
  set(sources)
  foreach(header IN LISTS headers)
    string(MAKE_C_IDENTIFIER ${header} stem)
    set(source ${CMAKE_CURRENT_BINARY_DIR}/header_check/${stem}.cpp)
    file(CONFIGURE OUTPUT ${source} CONTENT "#include <${header}>\n")
    list(APPEND sources ${source})
  endforeach()
  add_library(${target}_header_check OBJECT EXCLUDE_FROM_ALL ${sources})
  target_link_libraries(${target}_header_check PRIVATE ${target})
  add_dependencies(check-headers ${target}_header_check)
endfunction()
