module libcdc.dev/cdc

go 1.19
