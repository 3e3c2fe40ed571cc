# bench/plot/throughput.gp: requests per second per server and window W, one panel per request
# type and number of client sockets (clustered bars: zcoap, libcoap, the bare-UDP ceiling).
# bench/run prepares the data and calls:
#   gnuplot -e "datadir='DIR'; panels='con-1 con-64 ...'; out='FILE.png'" throughput.gp
# DIR/throughput-TYPE-SOCKETS.dat holds rows "W zcoap libcoap ceiling" (req/s; ? = not measured).
n = words(panels)
cols = (n > 1) ? 2 : 1
rows = (n + cols - 1) / cols
set terminal pngcairo size 600 * cols, 380 * rows + 40 font "sans,10"
set output out
set datafile missing "?"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set yrange [0:*]
set ylabel "thousand requests per second"
set xlabel "window W (requests outstanding)"
set key top left
set offsets 0, 0, graph 0.28, 0 # room for the key and the labels above the bars
set multiplot layout rows, cols title "GET /hello on loopback, 2 cores shared by server and load generator"
do for [i = 1:n] {
    p = word(panels, i)
    type = (p[1:3] eq "con") ? "CON" : "NON"
    sockets = p[5:]
    set title sprintf("%s, %s client socket%s", type, sockets, (sockets eq "1") ? "" : "s")
    f = sprintf("%s/throughput-%s.dat", datadir, p)
    # Clustered bars of 3 columns with gap 1 are 0.25 wide, centred at row - 0.25, row, row + 0.25.
    plot f using ($2 / 1000):xtic(1) title "zcoap" lc rgb "#1b7837", \
         '' using ($3 / 1000) title "libcoap" lc rgb "#b2182b", \
         '' using ($4 / 1000) title "ceiling (bare UDP)" lc rgb "#808080", \
         '' using ($0 - 0.25):($2 / 1000):(sprintf("%.0f", $2 / 1000)) with labels offset 0, 0.6 font ",8" notitle, \
         '' using ($0):($3 / 1000):(sprintf("%.0f", $3 / 1000)) with labels offset 0, 0.6 font ",8" notitle, \
         '' using ($0 + 0.25):($4 / 1000):(sprintf("%.0f", $4 / 1000)) with labels offset 0, 0.6 font ",8" notitle
}
unset multiplot
