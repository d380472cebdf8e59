/*
 * tapio.c — measure tap I/O the two ways virtio-net could do it: one
 * readv/writev syscall per frame, or io_uring READV/WRITEV SQEs submitted
 * in batches. Not a test: the numbers decided how virtio/net.c moves
 * frames (README, "Benchmarks").
 *
 * usage: tapio TAP [FRAMES] [FRAME_BYTES] [BATCH]   (root; TAP must exist and be up)
 *
 * TX: frames written to the tap (the host stack receives and drops them).
 * RX: frames sent into the tap from an AF_PACKET socket on it, then read
 * from the tap fd; the sender refills in chunks so the tap queue (500
 * frames) never overflows.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define HDR 12
#define MAXB 64

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int open_tap(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdr = HDR, fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		perror("tapio: tap");
		exit(1);
	}
	return fd;
}

static int open_packet(const char *name)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int s = socket(AF_PACKET, SOCK_RAW, 0);

	sll.sll_ifindex = (int)if_nametoindex(name);
	if (s < 0 || bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		perror("tapio: packet socket");
		exit(1);
	}
	return s;
}

/* Queue @n broadcast frames into the tap from the packet socket. */
static void inject(int s, const uint8_t *frame, size_t len, int n)
{
	for (int i = 0; i < n; i++)
		while (send(s, frame, len, 0) < 0 && (errno == ENOBUFS || errno == EAGAIN))
			;
}

int main(int argc, char **argv)
{
	long frames = argc > 2 ? atol(argv[2]) : 200000;
	size_t flen = argc > 3 ? (size_t)atol(argv[3]) : 1514;
	int batch = argc > 4 ? atoi(argv[4]) : 32;
	static uint8_t buf[MAXB][HDR + 65550];
	struct iovec iov[MAXB];
	struct io_uring ring;
	uint8_t frame[1514];
	int tap, pk;
	double t;
	long done;

	if (argc < 2 || flen < 60 || flen > sizeof(frame) || batch < 1 || batch > MAXB) {
		fprintf(stderr, "usage: tapio TAP [FRAMES] [FRAME_BYTES 60-1514] [BATCH 1-%d]\n", MAXB);
		return 1;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	tap = open_tap(argv[1]);
	pk = open_packet(argv[1]);
	memset(frame, 0xff, 6);
	memset(frame + 6, 0x02, 6);
	frame[12] = 0x88;
	frame[13] = 0xb5;
	memset(buf, 0, sizeof(buf));
	for (int i = 0; i < MAXB; i++) {
		memcpy(buf[i] + HDR, frame, flen);
		iov[i] = (struct iovec){ buf[i], HDR + flen };
	}
	if (io_uring_queue_init(256, &ring, 0) < 0) {
		fprintf(stderr, "tapio: io_uring_queue_init failed\n");
		return 1;
	}

	/* TX, one writev per frame. */
	t = now();
	for (done = 0; done < frames; done++)
		while (writev(tap, &iov[0], 1) < 0 && errno == EAGAIN)
			;
	printf("tx writev:   %8.0f frames/s\n", (double)frames / (now() - t));

	/* TX, io_uring: @batch WRITEV SQEs per io_uring_submit_and_wait. */
	t = now();
	for (done = 0; done < frames; done += batch) {
		struct io_uring_cqe *cqe;

		for (int i = 0; i < batch; i++)
			io_uring_prep_writev(io_uring_get_sqe(&ring), tap, &iov[i], 1, 0);
		io_uring_submit_and_wait(&ring, (unsigned)batch);
		for (int i = 0; i < batch; i++) {
			io_uring_wait_cqe(&ring, &cqe);
			io_uring_cqe_seen(&ring, cqe);
		}
	}
	printf("tx io_uring: %8.0f frames/s (batch %d)\n", (double)done / (now() - t), batch);

	/* RX, one readv per frame, frames injected in chunks the tap queue holds. */
	for (int i = 0; i < MAXB; i++)
		iov[i].iov_len = sizeof(buf[i]);
	t = now();
	double inj = 0;
	for (done = 0; done < frames;) {
		double t0 = now();

		inject(pk, frame, flen, 256);
		inj += now() - t0;
		for (int k = 0; k < 256; k++) {
			if (readv(tap, &iov[0], 1) < 0)
				break;
			done++;
		}
	}
	printf("rx readv:    %8.0f frames/s (excl. injection)\n", (double)done / (now() - t - inj));

	/* RX, io_uring: @batch READV SQEs per submit. */
	inj = 0;
	t = now();
	for (done = 0; done < frames;) {
		double t0 = now();
		int got = 0;

		inject(pk, frame, flen, 256);
		inj += now() - t0;
		for (int left = 256; left > 0; left -= batch) {
			struct io_uring_cqe *cqe;
			int n = left < batch ? left : batch;

			for (int i = 0; i < n; i++)
				io_uring_prep_readv(io_uring_get_sqe(&ring), tap, &iov[i], 1, 0);
			io_uring_submit_and_wait(&ring, (unsigned)n);
			for (int i = 0; i < n; i++) {
				io_uring_wait_cqe(&ring, &cqe);
				if (cqe->res > 0)
					got++;
				io_uring_cqe_seen(&ring, cqe);
			}
		}
		done += got;
	}
	printf("rx io_uring: %8.0f frames/s (batch %d, excl. injection)\n",
	       (double)done / (now() - t - inj), batch);
	io_uring_queue_exit(&ring);
	return 0;
}
